using System.Diagnostics;

namespace GdNet.TestSupport;

/// <summary>What one Godot peer ended with: its exit code, its last DONE line, and everything it printed.</summary>
public sealed record GodotRun(int ExitCode, string? DoneLine, string Description);

/// <summary>
/// The game loop shared by the transport interop tests: GdNet peers are polled (the caller's <c>poll</c>) while real
/// Godot peers run; once the Godot side has exited, polling goes on until the GdNet side has <c>settled</c> (it learns
/// of the final kick on its next frames) or <see cref="SettleTime"/> has passed.
/// </summary>
public static class GodotInterop
{
    /// <summary>How long the GdNet side is polled after the Godot side exited, at most.</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Starts <paramref name="clients"/> Godot client peers <paramref name="name"/> (ws-client, enet-client) against
    /// <paramref name="port"/> with <paramref name="args"/>, polls until every one has exited (each within
    /// <paramref name="wait"/>) and the GdNet server settled, and returns how each ended. The processes are disposed.
    /// </summary>
    public static async Task<IReadOnlyList<GodotRun>> RunClientsAsync(
        string name, int port, int clients, TimeSpan hardTimeout, TimeSpan wait, Action poll, Func<bool> settled, params string[] args)
    {
        var godots = new List<GodotPeerProcess>();
        try
        {
            for (var i = 0; i < clients; i++)
            {
                godots.Add(GodotPeerProcess.Start(name, hardTimeout, [$"--port={port}", .. args]));
            }

            var exits = godots.Select(g => g.WaitForExitAsync(wait)).ToList();
            await PumpAsync(() => exits.All(t => t.IsCompleted), poll, settled);
            var runs = new List<GodotRun>();
            for (var i = 0; i < clients; i++)
            {
                runs.Add(new GodotRun(await exits[i], godots[i].DoneLine, godots[i].Describe()));
            }

            return runs;
        }
        finally
        {
            foreach (var g in godots)
            {
                await g.DisposeAsync();
            }
        }
    }

    /// <summary>Polls until <paramref name="godot"/> has exited (within <paramref name="wait"/>) and the GdNet peers
    /// settled; returns the exit code.</summary>
    public static async Task<int> PollUntilExitAsync(GodotPeerProcess godot, TimeSpan wait, Action poll, Func<bool> settled)
    {
        var exit = godot.WaitForExitAsync(wait);
        await PumpAsync(() => exit.IsCompleted, poll, settled);
        return await exit;
    }

    /// <summary>The failure detail for Godot client <paramref name="index"/>: what it printed and the GdNet server's log.</summary>
    public static string ClientDetail(int index, GodotRun run, IEnumerable<string> serverLog) =>
        $"Godot client {index}: {run.Description}\nGdNet server:\n  {string.Join("\n  ", serverLog)}";

    /// <summary>The failure detail for a Godot server: what it printed and each GdNet client's log.</summary>
    public static string ServerDetail(GodotPeerProcess godot, IEnumerable<IEnumerable<string>> clientLogs) =>
        "Godot server: " + godot.Describe() + "\n" + string.Join("\n", clientLogs.Select((log, i) => $"GdNet client {i}:\n  " + string.Join("\n  ", log)));

    private static async Task PumpAsync(Func<bool> exited, Action poll, Func<bool> settled)
    {
        Stopwatch? afterExit = null;
        while (true)
        {
            poll();
            if (exited())
            {
                afterExit ??= Stopwatch.StartNew();
                if (settled() || afterExit.Elapsed > SettleTime)
                {
                    return;
                }
            }

            await Task.Delay(1);
        }
    }
}
