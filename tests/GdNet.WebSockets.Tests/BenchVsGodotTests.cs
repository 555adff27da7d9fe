using System.Globalization;
using System.Text.RegularExpressions;
using GdNet.TestSupport;

namespace GdNet.WebSockets.Tests;

/// <summary><c>gdnet bench --vs-godot</c>: the real Godot 3.2.3 throughput probe runs first, in the same run, and the table gives GdNet/Godot.</summary>
public class BenchVsGodotTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(25);

    [Fact]
    [Trait("Category", "Interop")]
    public async Task Bench_VsGodotOverWebSocket_PrintsGodotReliableFigureAndRatio()
    {
        await using var bench = GdnetCliProcess.Start("bench", "--transport", "ws", "--seconds", "1", "--clients", "1", "--vs-godot");

        var exit = await bench.WaitForExitAsync(Wait);

        Assert.True(exit == 0, bench.Describe());
        var godot = Assert.Single(bench.Lines, l => l.StartsWith("Godot 3.2.3 ws (same run, median of 1)", StringComparison.Ordinal));
        var reliable = Regex.Match(godot, @"reliable ([\d,]+) RPC/s");
        Assert.True(reliable.Success, godot);
        Assert.True(long.Parse(reliable.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture) > 0, godot);
        var ratio = Assert.Single(bench.Lines, l => l.StartsWith("ratio GdNet/Godot (reliable): ", StringComparison.Ordinal));
        Assert.Matches(@"^ratio GdNet/Godot \(reliable\): \d+\.\d\d×$", ratio);
        Assert.Contains(bench.Lines, l => l.Contains("GdNet / Godot (reliable)", StringComparison.Ordinal));
    }

    [Fact]
    public void Bench_VsGodotWithLocalTransport_ExitCode2WithReason()
    {
        var error = new StringWriter();

        var exit = GdNet.Cli.Program.Run(["bench", "--transport", "local", "--vs-godot"], new StringWriter(), error);

        Assert.Equal(2, exit);
        Assert.Contains("--vs-godot needs --transport ws or enet", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_VsGodotWithMissingSharedFolder_ExitCode1NamingTheFolder()
    {
        var error = new StringWriter();
        var missing = Path.Combine(Path.GetTempPath(), "gdnet-no-shared-" + Guid.NewGuid().ToString("N"));

        var exit = GdNet.Cli.Program.Run(["bench", "--transport", "ws", "--vs-godot", "--shared", missing], new StringWriter(), error);

        Assert.Equal(1, exit);
        Assert.Contains(missing, error.ToString(), StringComparison.Ordinal);
    }
}
