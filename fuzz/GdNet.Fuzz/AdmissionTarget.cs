using System.Net;
using System.Text;
using GdNet.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace GdNet.Fuzz;

/// <summary>
/// <c>admission</c>: the relay's HTTP admission path. Input: UTF-8 lines <c>request target \n Authorization header \n
/// remote address \n allow list (CIDR, comma-separated) \n requested peer id</c> (missing lines are empty). The request
/// target is split into path and query as the WebSocket listener does (path → room, <c>?token=</c> or
/// <c>Authorization: Bearer</c> → credential), the allow list goes through <see cref="AddressAllowList.Parse"/>, and
/// the request through a fresh <see cref="RelayRouter"/>'s <see cref="RelayRouter.AdmitAsync"/> with an allow-list hook
/// and <see cref="JwtAdmission"/> (HS256, key <see cref="Key"/>). Malformed input: a refusal (or the documented
/// <see cref="FormatException"/> of an allow list). Checks: an accepted request has a valid room and a token that is
/// valid for it; the ticket joins and leaves cleanly.
/// </summary>
internal sealed class AdmissionTarget : FuzzTarget
{
    /// <summary>The HS256 key of the harness (seeds in fuzz/corpus/admission are signed with it).</summary>
    public const string Key = "gdnet-fuzz-admission-key-0123456789abcdef";

    private static readonly JwtAdmission Jwt = new(Encoding.UTF8.GetBytes(Key));



    public override void Run(ReadOnlySpan<byte> input)
    {
        var lines = Encoding.UTF8.GetString(input).Split('\n', 5);
        string Line(int i) => i < lines.Length ? lines[i] : string.Empty;

        // The request target, as the listener sees it: a path (ASP.NET decodes it) and a query.
        var target = Line(0);
        var q = target.IndexOf('?', StringComparison.Ordinal);
        var rawPath = q < 0 ? target : target[..q];
        var query = q < 0 ? string.Empty : target[q..];
        if (!rawPath.StartsWith('/'))
        {
            return; // not an origin-form target: Kestrel answers 400 before any of GdNet runs
        }

        PathString path;
        try
        {
            path = PathString.FromUriComponent(rawPath);
        }
        catch (InvalidOperationException)
        {
            return; // "%00" in the path: Kestrel answers 400 before any of GdNet runs
        }

        var room = string.IsNullOrEmpty(path.Value) || path.Value == "/" ? Room.DefaultName : path.Value[1..];
        string? credential = null;
        var parsedQuery = QueryHelpers.ParseQuery(query);
        if (parsedQuery.TryGetValue("token", out var tokens) && tokens.Count > 0 && !string.IsNullOrEmpty(tokens[0]))
        {
            credential = tokens[0];
        }
        else if (Line(1).StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = Line(1).AsSpan(7).Trim();
            credential = token.IsEmpty ? null : token.ToString();
        }

        var endPoint = IPAddress.TryParse(Line(2), out var ip) ? new IPEndPoint(ip, 40000) : null;
        AddressAllowList? allow;
        try
        {
            allow = Line(3).Length == 0 ? null : AddressAllowList.Parse(Line(3));
        }
        catch (FormatException e)
        {
            FuzzCheckException.Check(e.Message.Length > 0, "a refused allow list says why");
            allow = null;
        }

        _ = int.TryParse(Line(4), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var requestedId);

        var router = new RelayRouter(new RelayOptions { MaxConnectionsPerAddress = 0, ConnectionsPerSecondPerAddress = 0 });
        if (allow is not null)
        {
            router.AddAdmissionHook((request, _) => ValueTask.FromResult(allow.Contains(request.RemoteEndPoint?.Address)
                ? AdmissionDecision.Accept()
                : AdmissionDecision.Refuse(AdmissionRefusal.Forbidden, "address not allowed")));
        }

        router.AddAdmissionHook(Jwt.Hook);
        var request = new AdmissionRequest("ws", endPoint, room)
        {
            Credential = credential,
            RequestedPeerId = requestedId,
            Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Authorization"] = Line(1) },
        };
        // JwtAdmission on its own first: the router turns a throwing hook into a refusal, which would hide an exception
        // that escapes the token check (a malformed token must be "Unauthorized", not "admission hook failed").
        var decision = Jwt.CheckAsync(request).AsTask().GetAwaiter().GetResult();
        FuzzCheckException.Check(decision.IsAccepted || decision.Refusal is AdmissionRefusal.Unauthorized or AdmissionRefusal.Forbidden,
            $"JwtAdmission refused with {decision.Refusal}");
        using var ticket = router.AdmitAsync(request).AsTask().GetAwaiter().GetResult();
        FuzzCheckException.Check(decision.IsAccepted || !ticket.IsAccepted, "admitted with a token JwtAdmission refuses");
        if (!ticket.IsAccepted)
        {
            FuzzCheckException.Check(!string.IsNullOrEmpty(ticket.Detail), "a refusal says why");
            return;
        }

        FuzzCheckException.Check(Room.IsValidName(room), $"admitted to an invalid room name \"{room}\"");
        FuzzCheckException.Check(credential is not null, "admitted without a token");
        FuzzCheckException.Check(requestedId == 0 ? ticket.PeerId >= 2 : ticket.PeerId == requestedId, "the peer id asked for");
        FuzzCheckException.Check(allow is null || allow.Contains(ip), "admitted from an address outside the allow list");
    }
}
