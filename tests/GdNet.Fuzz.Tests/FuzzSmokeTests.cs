using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.RegularExpressions;
using GdNet.TestSupport;
using Xunit;

namespace GdNet.Fuzz.Tests;

/// <summary>
/// Keeps the fuzz harnesses (fuzz/GdNet.Fuzz) building and running in the normal suite, without afl-fuzz: each target
/// runs over its seed corpus and over a fixed number of deterministic random mutations of it, in this process; any
/// exception is a failure that prints the input. The last test runs <c>fuzz/run.sh variant 5</c> end to end when
/// afl-fuzz is installed.
/// </summary>
public sealed partial class FuzzSmokeTests
{
    private const int Mutations = 5000;

    public static TheoryData<string> TargetNames() => [.. Targets.All.Select(t => t.Name)];

    private static string CorpusDir(string target) => Path.Combine(Paths.RepoRoot, "fuzz", "corpus", target);

    private static List<byte[]> Corpus(string target) =>
        [.. Directory.EnumerateFiles(CorpusDir(target)).Order(StringComparer.Ordinal).Select(File.ReadAllBytes)];

    [Fact]
    public void EveryTarget_HasASeedCorpus()
    {
        Assert.NotEmpty(Targets.All);
        foreach (var t in Targets.All)
        {
            Assert.True(Directory.Exists(CorpusDir(t.Name)), $"fuzz/corpus/{t.Name} is missing (python3 fuzz/make-seeds.py writes it)");
            Assert.NotEmpty(Corpus(t.Name));
            Assert.Equal(t.Name, Targets.Find(t.Name)!.Name);
        }

        Assert.Null(Targets.Find("no-such-target"));
    }

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Target_RunsItsSeedCorpus(string name)
    {
        var target = Targets.Find(name)!.Create();
        foreach (var seed in Corpus(name))
        {
            RunOne(target, name, seed);
        }
    }

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Target_SurvivesDeterministicMutations(string name)
    {
        var target = Targets.Find(name)!.Create();
        var corpus = Corpus(name);
        var random = new Random(0x6d4e7 + name.Length);
        for (var i = 0; i < Mutations; i++)
        {
            RunOne(target, name, Mutate(random, corpus));
        }
    }

    [Fact]
    public void Target_SurvivesEmptyAndOneByteInputs()
    {
        // The empty input and single bytes are the first things a fuzzer tries.
        foreach (var t in Targets.All)
        {
            var target = t.Create();
            RunOne(target, t.Name, []);
            for (var b = 0; b < 256; b++)
            {
                RunOne(target, t.Name, [(byte)b]);
            }
        }
    }

    [Fact]
    public async Task RunSh_FuzzesTheVariantTargetWithAflForFiveSeconds()
    {
        Assert.True(File.Exists("/usr/bin/afl-fuzz") || File.Exists("/usr/local/bin/afl-fuzz"),
            "afl-fuzz is not installed: apt-get install afl++ (test.sh does)");

        var output = Directory.CreateTempSubdirectory("gdnet-fuzz-");
        try
        {
            await RunVariantFor5SecondsAsync(output);
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    private static async Task RunVariantFor5SecondsAsync(DirectoryInfo output)
    {
        // Build, instrumentation and afl's dry run of the corpus take most of the time; fuzzing itself 5 s.
        var psi = new ProcessStartInfo("bash", [Path.Combine(Paths.RepoRoot, "fuzz", "run.sh"), "variant", "5"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment = { ["FUZZ_OUT"] = output.FullName },
        };
        using var run = Process.Start(psi)!;
        var stdout = run.StandardOutput.ReadToEndAsync();
        var stderr = run.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        try
        {
            await run.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            run.Kill(entireProcessTree: true);
            Assert.Fail("fuzz/run.sh variant 5 did not finish within 300 s");
        }

        var text = await stdout;
        var describe = $"exit {run.ExitCode}\nstdout:\n{text}\nstderr:\n{await stderr}";
        Assert.True(run.ExitCode == 0, describe);
        var executions = StatLine().Match(text) is { Success: true } m ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        Assert.True(executions > 0, describe);
        Assert.Contains("crashes:     0", text, StringComparison.Ordinal);
        Assert.Contains("hangs:       0", text, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"executions:\s+(\d+)")]
    private static partial Regex StatLine();

    private static void RunOne(FuzzTarget target, string name, byte[] input)
    {
        try
        {
            target.Run(input);
        }
        catch (Exception e)
        {
            Assert.Fail($"{name} crashed on {input.Length} bytes {Convert.ToHexStringLower(input)}:\n{e}");
        }
    }

    private static readonly int[] Interesting = [0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, int.MaxValue, int.MinValue, 1024, 4096];

    /// <summary>One to four afl-like mutations (bit flips, interesting values, inserts, deletes, splices) of a seed.</summary>
    private static byte[] Mutate(Random random, List<byte[]> corpus)
    {
        var data = new List<byte>(corpus[random.Next(corpus.Count)]);
        var steps = 1 + random.Next(4);
        for (var s = 0; s < steps; s++)
        {
            var at = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (random.Next(7))
            {
                case 0 when data.Count > 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[at] = (byte)Interesting[random.Next(Interesting.Length)];
                    break;
                case 2 when data.Count >= 4:
                    at = random.Next(data.Count - 3);
                    var word = new byte[4];
                    BinaryPrimitives.WriteInt32LittleEndian(word, Interesting[random.Next(Interesting.Length)]);
                    for (var k = 0; k < 4; k++)
                    {
                        data[at + k] = word[k];
                    }

                    break;
                case 3:
                    var insert = new byte[1 + random.Next(8)];
                    random.NextBytes(insert);
                    data.InsertRange(at, insert);
                    break;
                case 4 when data.Count > 0:
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(16)));
                    break;
                case 5 when data.Count > 0:
                    var length = Math.Min(data.Count - at, 1 + random.Next(32));
                    data.InsertRange(random.Next(data.Count), data.GetRange(at, length));
                    break;
                default:
                    var other = corpus[random.Next(corpus.Count)];
                    var from = random.Next(other.Length + 1);
                    data.RemoveRange(at, data.Count - at);
                    data.AddRange(other.AsSpan(from).ToArray());
                    break;
            }
        }

        return [.. data];
    }
}
