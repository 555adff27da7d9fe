using SharpFuzz;

namespace GdNet.Fuzz;

/// <summary>
/// <c>dotnet GdNet.Fuzz.dll TARGET</c>: under afl-fuzz, SharpFuzz's out-of-process persistent fork server runs the
/// target on each input (an escaping exception is a crash; a dead or hung child is restarted); without afl-fuzz, one
/// run on standard input. <c>TARGET --replay PATH...</c> runs files (or every file of folders) in this process and
/// prints each outcome (exit code 1 if any crashed). <c>--list</c> prints the targets.
/// </summary>
internal static class Program
{
    private const int MaxInput = 1 << 20;

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "--list" or "-h" or "--help")
        {
            Console.WriteLine("usage: GdNet.Fuzz TARGET                 (stdin; persistent mode under afl-fuzz)");
            Console.WriteLine("       GdNet.Fuzz TARGET --replay PATH...  (files or folders, in-process, prints outcomes)");
            Console.WriteLine("targets:");
            foreach (var t in Targets.All)
            {
                Console.WriteLine($"  {t.Name,-16} {t.Description}");
            }

            return args.Length == 0 ? 2 : 0;
        }

        var info = Targets.Find(args[0]);
        if (info is null)
        {
            Console.Error.WriteLine($"unknown target '{args[0]}'; --list shows them");
            return 2;
        }

        if (args.Length > 1 && args[1] == "--replay")
        {
            return Replay(info.Create(), args[2..]);
        }

        var buffer = new byte[MaxInput];
        FuzzTarget? target = null;
        Fuzzer.OutOfProcess.Run(stream =>
        {
            target ??= info.Create();
            var n = 0;
            int read;
            while (n < buffer.Length && (read = stream.Read(buffer, n, buffer.Length - n)) > 0)
            {
                n += read;
            }

            target.Run(buffer.AsSpan(0, n));
        });
        return 0;
    }

    private static int Replay(FuzzTarget target, string[] paths)
    {
        var files = paths.SelectMany<string, string>(p => Directory.Exists(p)
            ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith('.') && !f.EndsWith("README.txt", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            : [p]).ToList();
        var crashed = 0;
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            try
            {
                target.Run(bytes);
                Console.WriteLine($"ok     {file} ({bytes.Length} bytes)");
            }
#pragma warning disable CA1031 // the point of a replay: report whatever escaped
            catch (Exception e)
#pragma warning restore CA1031
            {
                crashed++;
                Console.WriteLine($"CRASH  {file} ({bytes.Length} bytes)");
                Console.WriteLine(e.ToString());
            }
        }

        Console.WriteLine($"{files.Count} inputs, {crashed} crashed");
        return crashed == 0 ? 0 : 1;
    }
}
