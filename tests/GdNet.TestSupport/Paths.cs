namespace GdNet.TestSupport;

/// <summary>Locates the repository and the shared fixtures (<c>../shared</c> beside the repository root).</summary>
public static class Paths
{
    private static readonly Lazy<string> RepoRootLazy = new(FindRepoRoot);

    /// <summary>The repository root (the folder holding <c>GdNet.slnx</c>).</summary>
    public static string RepoRoot => RepoRootLazy.Value;

    /// <summary>The shared fixtures folder: <c>$GDNET_SHARED</c>, else <c>&lt;repo&gt;/../shared</c>.</summary>
    public static string Shared
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("GDNET_SHARED");
            var dir = string.IsNullOrEmpty(env) ? Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared")) : env;
            if (!Directory.Exists(Path.Combine(dir, "godot3")))
            {
                throw new DirectoryNotFoundException($"The shared fixtures were not found at {dir}; check out ../shared beside the repository or set GDNET_SHARED.");
            }

            return dir;
        }
    }

    /// <summary>A file under the shared fixtures, e.g. <c>godot3/vectors/variants.json</c>.</summary>
    public static string SharedFile(string relative) => Path.Combine(Shared, relative);

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GdNet.slnx")))
            {
                return dir.FullName;
            }

            dir = dir.Parent;
        }

        throw new DirectoryNotFoundException("GdNet.slnx was not found above " + AppContext.BaseDirectory);
    }
}
