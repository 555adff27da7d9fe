namespace GdNet.Multiplayer;

/// <summary>
/// The near match for a member name that is not an RPC member of a node ("welcome" for <c>Welcome</c>, "send_msg" for
/// <c>SendMsg</c>, "Welcom" for <c>Welcome</c>), so a failed call or a rejection can say "did you mean …". Only on
/// failure paths: it walks the node's member names.
/// </summary>
internal static class RpcNameHint
{
    /// <summary>The closest RPC (or rset) member name of <paramref name="info"/>, or null when none is close.</summary>
    public static string? Suggest(RpcTypeInfo info, bool properties, string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        var wanted = Fold(name);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in info.MemberNames(properties))
        {
            if (candidate == name)
            {
                continue;
            }

            var distance = Distance(wanted, Fold(candidate));
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        // Same letters ignoring case and underscores, or a typo or two in a longer name.
        return bestDistance <= Math.Max(0, Math.Min(2, (wanted.Length - 1) / 3)) ? best : null;
    }

    // Lower case without underscores: "send_message", "SendMessage" and "sendMessage" fold alike.
    private static string Fold(string name) => name.Replace("_", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    // Levenshtein distance, two rows.
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
