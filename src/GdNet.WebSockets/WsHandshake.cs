using System.Globalization;
using System.Text;

namespace GdNet.WebSockets;

/// <summary>What <see cref="WsHandshake.CheckRequest"/> made of an upgrade request.</summary>
internal enum WsRequestCheck
{
    /// <summary>A valid RFC 6455 opening handshake.</summary>
    Ok,

    /// <summary>Not a WebSocket upgrade at all (not GET, no <c>Upgrade: websocket</c> or <c>Connection: upgrade</c>): HTTP 426.</summary>
    NotWebSocket,

    /// <summary>A WebSocket upgrade of another version than 13: HTTP 426 with <c>Sec-WebSocket-Version: 13</c> (§4.4).</summary>
    UnsupportedVersion,

    /// <summary>No <c>Sec-WebSocket-Key</c>, or not the base64 of 16 bytes: HTTP 400.</summary>
    InvalidKey,
}

/// <summary>
/// The opening handshake of RFC 6455 §4, both sides, over plain strings and bytes (no HTTP stack): the server's checks of
/// a request, the client's request and its checks of the answer. The server's HTTP itself is Kestrel's; the client
/// writes and reads its few lines of HTTP/1.1 here.
/// </summary>
internal static class WsHandshake
{
    /// <summary>The largest answer head a client reads before giving up.</summary>
    public const int MaxResponseHead = 16 * 1024;

    /// <summary>Checks an upgrade request's method and headers (each the comma-joined values, or null when absent).</summary>
    public static WsRequestCheck CheckRequest(string method, string? upgrade, string? connection, string? version, string? key)
    {
        if (!string.Equals(method, "GET", StringComparison.Ordinal) || !HasToken(upgrade, "websocket") || !HasToken(connection, "upgrade"))
        {
            return WsRequestCheck.NotWebSocket;
        }

        if (!string.Equals(version?.Trim(), "13", StringComparison.Ordinal))
        {
            return WsRequestCheck.UnsupportedVersion;
        }

        return key is not null && Rfc6455.IsValidKey(key) ? WsRequestCheck.Ok : WsRequestCheck.InvalidKey;
    }

    /// <summary>Whether the comma-separated <paramref name="value"/> holds <paramref name="token"/> (case-insensitive).</summary>
    public static bool HasToken(string? value, string token)
    {
        if (value is null)
        {
            return false;
        }

        foreach (var range in value.AsSpan().Split(','))
        {
            if (value.AsSpan()[range].Trim().Equals(token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The subprotocols a <c>Sec-WebSocket-Protocol</c> request header offers, in order (each value comma-separated).</summary>
    public static List<string> ParseProtocols(IEnumerable<string?> values)
    {
        var result = new List<string>();
        foreach (var value in values)
        {
            if (value is null)
            {
                continue;
            }

            foreach (var part in value.Split(','))
            {
                var p = part.Trim();
                if (p.Length > 0)
                {
                    result.Add(p);
                }
            }
        }

        return result;
    }

    /// <summary>The client's upgrade request for <paramref name="uri"/> (ws:// or wss://), offering <paramref name="protocols"/>.</summary>
    public static byte[] BuildRequest(Uri uri, string key, IReadOnlyList<string> protocols)
    {
        var host = uri.HostNameType == UriHostNameType.IPv6 ? "[" + uri.DnsSafeHost + "]" : uri.IdnHost;
        var defaultPort = uri.Scheme == "wss" ? 443 : 80;
        var sb = new StringBuilder(256)
            .Append("GET ").Append(string.IsNullOrEmpty(uri.PathAndQuery) ? "/" : uri.PathAndQuery).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(host);
        if (uri.Port != defaultPort)
        {
            sb.Append(':').Append(uri.Port.ToString(CultureInfo.InvariantCulture));
        }

        sb.Append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ").Append(key)
            .Append("\r\nSec-WebSocket-Version: 13\r\n");
        if (protocols.Count > 0)
        {
            sb.Append("Sec-WebSocket-Protocol: ").AppendJoin(", ", protocols).Append("\r\n");
        }

        return Encoding.ASCII.GetBytes(sb.Append("\r\n").ToString());
    }

    /// <summary>The length of the HTTP head at the start of <paramref name="data"/> (through the blank line), or -1 when it has not ended yet.</summary>
    public static int HeadLength(ReadOnlySpan<byte> data)
    {
        var i = data.IndexOf("\r\n\r\n"u8);
        return i < 0 ? -1 : i + 4;
    }

    /// <summary>
    /// Checks the server's answer head (status line and headers, ASCII): 101, <c>Upgrade: websocket</c>,
    /// <c>Connection: upgrade</c>, the <c>Sec-WebSocket-Accept</c> that <paramref name="key"/> calls for, a subprotocol
    /// only among those offered, and no extension (none was offered). Returns null when it is valid, else why not.
    /// </summary>
    public static string? CheckResponse(string head, string key, IReadOnlyList<string> protocols, out string? selected)
    {
        selected = null;
        var lines = head.Split("\r\n");
        var status = lines[0].Split(' ', 3);
        if (status.Length < 2 || !status[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(status[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            return "the server's answer is not HTTP";
        }

        if (code != 101)
        {
            return string.Create(CultureInfo.InvariantCulture, $"the server answered HTTP {code} {(status.Length > 2 ? status[2] : string.Empty)} instead of switching to WebSocket (101)").TrimEnd();
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var previous) ? previous + ", " + value : value;
        }

        if (!HasToken(headers.GetValueOrDefault("Upgrade"), "websocket") || !HasToken(headers.GetValueOrDefault("Connection"), "upgrade"))
        {
            return "the server's 101 answer lacks Upgrade: websocket or Connection: upgrade";
        }

        if (!string.Equals(headers.GetValueOrDefault("Sec-WebSocket-Accept"), Rfc6455.ComputeAccept(key), StringComparison.Ordinal))
        {
            return "the server's Sec-WebSocket-Accept does not match the key sent";
        }

        if (headers.ContainsKey("Sec-WebSocket-Extensions"))
        {
            return "the server chose a WebSocket extension, though none was offered";
        }

        if (headers.TryGetValue("Sec-WebSocket-Protocol", out var protocol))
        {
            var known = false;
            foreach (var p in protocols)
            {
                known |= string.Equals(p, protocol, StringComparison.Ordinal);
            }

            if (!known)
            {
                return "the server chose the subprotocol \"" + protocol + "\", which was not offered";
            }

            selected = protocol;
        }

        return null;
    }
}
