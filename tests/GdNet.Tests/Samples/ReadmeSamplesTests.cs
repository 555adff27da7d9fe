using System.Globalization;
using System.Text.RegularExpressions;
using GdNet.TestSupport;
using Xunit;

namespace GdNet.Tests.Samples;

/// <summary>
/// The README's code stays the samples' code: every block marked <c>&lt;!-- snippet: FILE#REGION --&gt;</c> is the text
/// between <c>#region REGION</c> and its <c>#endregion</c> in FILE, and the line count it gives the UDP sample is true.
/// (The samples themselves run in tests against real servers: WebSocketBotSampleTests, EnetBotSampleTests,
/// UdpCustomPeerTests.)
/// </summary>
public sealed partial class ReadmeSamplesTests
{
    private static string Readme => File.ReadAllText(Path.Combine(Paths.RepoRoot, "README.md")).ReplaceLineEndings("\n");

    [GeneratedRegex(@"<!-- snippet: (?<file>[^#\s]+)#(?<region>[\w-]+) -->\n```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex Snippet();

    public static TheoryData<string, string> Snippets()
    {
        var data = new TheoryData<string, string>();
        foreach (Match m in Snippet().Matches(Readme))
        {
            data.Add(m.Groups["file"].Value, m.Groups["region"].Value);
        }

        return data;
    }

    [Fact]
    public void The_README_shows_the_bot_samples()
    {
        var shown = Snippet().Matches(Readme).Select(m => m.Groups["file"].Value).ToList();

        Assert.Contains("samples/WebSocketBot/Program.cs", shown);
        Assert.Contains("samples/EnetBot/Program.cs", shown);
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void A_README_snippet_is_its_samples_region_verbatim(string file, string region)
    {
        var code = Snippet().Matches(Readme).Single(m => m.Groups["file"].Value == file && m.Groups["region"].Value == region).Groups["code"].Value;
        var lines = File.ReadAllText(Path.Combine(Paths.RepoRoot, file)).ReplaceLineEndings("\n").Split('\n');
        var start = Array.FindIndex(lines, l => l.Trim() == "#region " + region);
        Assert.True(start >= 0, $"{file} has no '#region {region}'");
        var end = Array.FindIndex(lines, start + 1, l => l.Trim() == "#endregion");
        Assert.True(end > start, $"{file}: '#region {region}' has no #endregion");

        var expected = string.Concat(lines[(start + 1)..end].Select(l => l + "\n"));

        Assert.Equal(expected, code);
    }

    [Fact]
    public void The_UDP_samples_line_count_in_the_README_is_about_right()
    {
        var claim = UdpClaim().Match(Readme);
        Assert.True(claim.Success, "the README no longer says how many lines samples/UdpCustomPeer's backend is");
        var said = int.Parse(claim.Groups[1].Value, CultureInfo.InvariantCulture);

        // Lines of code: not blank, not a comment, not a lone brace.
        var actual = File.ReadAllLines(Path.Combine(Paths.RepoRoot, "samples/UdpCustomPeer/UdpTransport.cs"))
            .Select(l => l.Trim())
            .Count(l => l.Length > 0 && !l.StartsWith("//", StringComparison.Ordinal) && l is not ("{" or "}" or "};"));

        Assert.True(Math.Abs(actual - said) <= said / 10, $"the README says about {said} lines; UdpTransport.cs has {actual} lines of code");
    }

    [GeneratedRegex(@"`samples/UdpCustomPeer` is a complete backend over plain UDP in about (\d+) lines")]
    private static partial Regex UdpClaim();
}
