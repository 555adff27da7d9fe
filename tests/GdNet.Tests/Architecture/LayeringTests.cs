using System.Text.RegularExpressions;
using GdNet.TestSupport;
using Xunit;

namespace GdNet.Tests.Architecture;

/// <summary>
/// Folders are layers and arrows point down: Variants ← Peers ← Multiplayer ← Server (the relay core); transports use
/// Peers and the relay core, never MultiplayerAPI, each other or the CLI.
/// </summary>
public sealed partial class LayeringTests
{
    [GeneratedRegex(@"^\s*(global\s+)?using\s+(static\s+)?(?<ns>GdNet(\.[A-Za-z]+)*)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();

    public static TheoryData<string, string[]> Layers => new()
    {
        { "src/GdNet/Variants", ["GdNet.Peers", "GdNet.Multiplayer", "GdNet.Server", "GdNet.WebSockets", "GdNet.Enet", "GdNet.Cluster"] },
        { "src/GdNet/Peers", ["GdNet.Multiplayer", "GdNet.Server", "GdNet.WebSockets", "GdNet.Enet", "GdNet.Cluster"] },
        { "src/GdNet/Multiplayer", ["GdNet.Server", "GdNet.WebSockets", "GdNet.Enet", "GdNet.Cluster"] },
        { "src/GdNet.Server", ["GdNet.WebSockets", "GdNet.Enet", "GdNet.Cluster", "GdNet.Cli"] },
        { "src/GdNet.WebSockets", ["GdNet.Multiplayer", "GdNet.Enet", "GdNet.Cluster", "GdNet.Cli"] },
        { "src/GdNet.Enet", ["GdNet.Multiplayer", "GdNet.WebSockets", "GdNet.Cluster", "GdNet.Cli"] },
        { "src/GdNet.Cluster", ["GdNet.Multiplayer", "GdNet.WebSockets", "GdNet.Enet", "GdNet.Cli"] },
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void SourceFolder_UsesOnlyLowerLayers(string folder, string[] forbidden)
    {
        var dir = Path.Combine(Paths.RepoRoot, folder);
        Assert.True(Directory.Exists(dir), $"{dir} is missing");
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ||
                file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (Match m in UsingDirective().Matches(File.ReadAllText(file)))
            {
                var ns = m.Groups["ns"].Value;
                if (forbidden.Any(f => ns == f || ns.StartsWith(f + ".", StringComparison.Ordinal)))
                {
                    offenders.Add($"{Path.GetRelativePath(Paths.RepoRoot, file)}: using {ns}");
                }
            }
        }

        Assert.True(offenders.Count == 0, "Layering broken (arrows must point down):\n" + string.Join("\n", offenders));
    }
}
