using System.Globalization;
using System.Text.RegularExpressions;
namespace GdNet.TestSupport;

/// <summary>A real <c>gdnet serve</c> process and real Godot 3.2.3 clients against it, on loopback, bounded in time.</summary>
public static partial class ServeKit
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    /// <summary>Starts <c>gdnet serve --port 0 …</c> and waits for its listening lines (one per transport).</summary>
    public static async Task<(GdnetCliProcess Serve, int Port)> StartAsync(int transports, params string[] args)
    {
        var serve = GdnetCliProcess.Start(["serve", "--port", "0", "--stats-interval", "0.5", .. args]);
        try
        {
            await serve.WaitForLinesContainingAsync("listening on ", transports, Wait);
            var url = serve.Lines.First(l => l.StartsWith("listening on ", StringComparison.Ordinal))["listening on ".Length..];
            return (serve, new Uri(url).Port);
        }
        catch
        {
            await serve.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits for serve's "admin on URL" line (<c>--admin-port</c>) and returns the admin endpoint's address.</summary>
    public static async Task<Uri> AdminUriAsync(GdnetCliProcess serve)
    {
        if (!await serve.WaitForLinesContainingAsync("admin on http://127.0.0.1:", 1, Wait))
        {
            throw new TimeoutException("gdnet serve printed no \"admin on\" line: " + serve.Describe());
        }

        return new Uri(serve.Lines.First(l => l.StartsWith("admin on ", StringComparison.Ordinal)).Split(' ')[2]);
    }

    public static GodotPeerProcess Godot(string name, params string[] args) =>
        GodotPeerProcess.Start(name, TimeSpan.FromSeconds(50), [.. args, "--timeout=35"]);

    /// <summary>The id of the room each peer joined, from serve's "peer N connected (room R, …)" lines.</summary>
    public static Dictionary<int, string> RoomsOf(GdnetCliProcess serve)
    {
        var rooms = new Dictionary<int, string>();
        foreach (var line in serve.Lines)
        {
            var m = Connected().Match(line);
            if (m.Success)
            {
                rooms[int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)] = m.Groups[2].Value;
            }
        }

        return rooms;
    }

    /// <summary>The ids a Godot peer saw connect (its EVENT peer_connected lines).</summary>
    public static List<int> PeersSeen(GodotPeerProcess godot) =>
        [.. godot.Lines.Where(l => l.StartsWith("EVENT peer_connected ", StringComparison.Ordinal))
            .Select(l => int.Parse(l["EVENT peer_connected ".Length..], CultureInfo.InvariantCulture))];

    /// <summary>Its own id (EVENT connected_to_server N).</summary>
    public static int OwnId(GodotPeerProcess godot) =>
        int.Parse(godot.Lines.First(l => l.StartsWith("EVENT connected_to_server ", StringComparison.Ordinal))["EVENT connected_to_server ".Length..], CultureInfo.InvariantCulture);

    /// <summary>The senders of the <c>announce</c> RPCs it received from other clients (relayed by the server).</summary>
    public static List<int> AnnouncesFrom(GodotPeerProcess godot)
    {
        var self = OwnId(godot); // remotesync also runs locally, with the caller's own id as sender
        return [.. Rpcs(godot, "announce").Select(r => r.Sender).Where(id => id != self)];
    }

    /// <summary>The RPCs named <paramref name="method"/> it received: sender and arguments (Godot's JSON-ish text).</summary>
    public static List<(int Sender, string Args)> Rpcs(GodotPeerProcess godot, string method) =>
        [.. godot.Lines.Where(l => l.StartsWith("RPC_RECEIVED ", StringComparison.Ordinal))
            .Select(l => l.Split(' ', 5))
            .Where(p => p.Length == 5 && p[2] == method)
            .Select(p => (int.Parse(p[3], CultureInfo.InvariantCulture), p[4]))];

    public static string Describe(GdnetCliProcess serve, params GodotPeerProcess[] godots) =>
        string.Join("\n", godots.Select((g, i) => $"Godot {i}: {g.Describe()}")) + "\ngdnet serve: " + serve.Describe();

    [GeneratedRegex(@"^peer (\d+) connected \(room ([A-Za-z0-9_-]+),")]
    private static partial Regex Connected();
}
