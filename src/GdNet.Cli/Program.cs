namespace GdNet.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("gdnet: commands are being built; see README.md");
        return args.Length == 0 ? 0 : 2;
    }
}
