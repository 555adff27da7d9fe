using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace GdNet.TestSupport;

/// <summary>
/// A real Godot 3.2.3 peer from <c>../shared/godot3/peers</c>, started through <c>run-peer.sh</c> under a hard timeout.
/// Collects the keyword lines it prints on stdout (READY, EVENT, RPC_RECEIVED, CHECK, DONE…) and kills the whole
/// process tree on dispose.
/// </summary>
public sealed class GodotPeerProcess : IAsyncDisposable
{
    private static readonly string[] Keywords =
        ["READY", "EVENT", "RPC_RECEIVED", "RSET_RECEIVED", "RAW_RECEIVED", "STEP", "CHECK", "CLIENT_DONE", "TIMEOUT", "DONE", "RESULT"];

    private readonly ChildProcess _child;

    private GodotPeerProcess(ChildProcess child) => _child = child;

    /// <summary>Every keyword line so far, in order.</summary>
    public IReadOnlyList<string> Lines => _child.Lines;

    /// <summary>What the process wrote on stderr (bounded), for failure messages.</summary>
    public string Stderr => _child.Stderr;

    /// <summary>
    /// Starts peer <paramref name="name"/> (ws-server, ws-client, enet-server, enet-client, throughput) with
    /// <c>--key=value</c> arguments. <paramref name="hardTimeout"/> is run-peer.sh's limit.
    /// </summary>
    public static GodotPeerProcess Start(string name, TimeSpan hardTimeout, params string[] args)
    {
        var script = Paths.SharedFile("godot3/run-peer.sh");
        var psi = new ProcessStartInfo("bash");
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(name);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["RUN_PEER_TIMEOUT"] = ((int)Math.Ceiling(hardTimeout.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new GodotPeerProcess(ChildProcess.Start(psi, "Godot peer", IsKeywordLine));
    }

    private static bool IsKeywordLine(string line)
    {
        foreach (var k in Keywords)
        {
            if (line == k || (line.StartsWith(k, StringComparison.Ordinal) && line.Length > k.Length && line[k.Length] == ' '))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Waits until a keyword line starting with <paramref name="prefix"/> appears; returns it.</summary>
    public Task<string> WaitForLineAsync(string prefix, TimeSpan timeout) => _child.WaitForLineAsync(prefix, timeout);

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => _child.WaitForExitAsync(timeout);

    /// <summary>The last keyword line that starts with DONE, or null.</summary>
    public string? DoneLine => _child.Lines.LastOrDefault(l => l.StartsWith("DONE", StringComparison.Ordinal));

    /// <summary>Everything collected, for assertion messages.</summary>
    public string Describe() => _child.Describe();

    public ValueTask DisposeAsync() => _child.DisposeAsync();

    /// <summary>A loopback port free for both TCP and UDP right now.</summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var tcp = new TcpListener(IPAddress.Loopback, 0);
            tcp.Start();
            var port = ((IPEndPoint)tcp.LocalEndpoint).Port;
            try
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // taken for UDP; try another
            }
        }

        throw new InvalidOperationException("No free loopback port found.");
    }
}
