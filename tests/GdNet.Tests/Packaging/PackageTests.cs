using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using GdNet.TestSupport;
using Xunit;

namespace GdNet.Tests.Packaging;

/// <summary>
/// <c>dotnet pack</c> on the solution gives the six GdNet packages and nothing else; the tool installs and runs; a
/// console project outside the repository restores GdNet from the packed folder and encodes a Variant with it.
/// </summary>
[Collection(LoadCollection.Name)]
public sealed class PackageTests : IAsyncLifetime
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    // Each child process is bounded; generous because five other builds may share the machine's two cores.
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(240);

    private static readonly string[] Libraries = ["GdNet", "GdNet.WebSockets", "GdNet.Enet", "GdNet.Server", "GdNet.Cluster"];

    private readonly string _temp = Path.Combine(Path.GetTempPath(), "gdnet-pack-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_temp);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
            // a file still held open; the temp folder is the system's to clean
        }
        catch (UnauthorizedAccessException)
        {
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task Pack_GivesTheSixPackages_TheToolRuns_AndAConsoleProjectUsesGdNet()
    {
        var version = XDocument.Load(Path.Combine(Paths.RepoRoot, "Directory.Build.props"))
            .Descendants("VersionPrefix").Single().Value.Trim();
        var feed = Path.Combine(_temp, "feed");

        // --no-build: the test run has just built the solution in this configuration.
        await RunAsync(Paths.RepoRoot, "dotnet", "pack", "GdNet.slnx", "-c", Configuration, "-o", feed, "--no-build", "-nodeReuse:false", "--nologo");

        // The six packages, each with its symbols, all of one version, and nothing else.
        string[] ids = [.. Libraries, "GdNet.Tool"];
        var expected = ids.SelectMany(id => new[] { $"{id}.{version}.nupkg", $"{id}.{version}.snupkg" }).Order(StringComparer.Ordinal);
        var produced = Directory.GetFiles(feed).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(expected, produced);

        foreach (var id in ids)
        {
            using var zip = ZipFile.OpenRead(Path.Combine(feed, $"{id}.{version}.nupkg"));
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            Assert.True(entries.Contains("README.md"), $"{id}: no README.md in the package");
            var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            string Meta(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
            Assert.Equal(id, Meta("id"));
            Assert.Equal(version, Meta("version"));
            Assert.Equal("README.md", Meta("readme"));
            Assert.Equal("GdNet contributors", Meta("authors"));
            Assert.False(string.IsNullOrWhiteSpace(Meta("description")), $"{id}: no description");
            if (id != "GdNet.Tool")
            {
                Assert.True(entries.Contains($"lib/net10.0/{id}.dll"), $"{id}: no assembly");
                Assert.True(entries.Contains($"lib/net10.0/{id}.xml"), $"{id}: no XML documentation");
            }
            else
            {
                Assert.True(entries.Contains("tools/net10.0/any/GdNet.Cli.dll"), "GdNet.Tool: no GdNet.Cli.dll under tools/");
            }
        }

        // Restores see only the packed folder and the machine's package cache: no registry is asked.
        var machinePackages = (await RunAsync(_temp, "dotnet", "nuget", "locals", "global-packages", "--list"))
            .Split(':', 2)[1].Trim();
        var nugetConfig = Path.Combine(_temp, "nuget.config");
        await File.WriteAllTextAsync(nugetConfig, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(_temp, "packages")}" />
              </config>
              <packageSources>
                <clear />
                <add key="packed" value="{feed}" />
                <add key="machine" value="{machinePackages}" />
              </packageSources>
            </configuration>
            """);

        // The tool: installs from the folder, and its command is gdnet.
        var tools = Path.Combine(_temp, "tools");
        await RunAsync(_temp, "dotnet", "tool", "install", "GdNet.Tool", "--tool-path", tools, "--version", version, "--configfile", nugetConfig);
        var gdnet = Path.Combine(tools, OperatingSystem.IsWindows() ? "gdnet.exe" : "gdnet");
        var printed = (await RunAsync(_temp, gdnet, "--version")).Trim();
        Assert.StartsWith(version, printed, StringComparison.Ordinal);
        Assert.Equal("7", (await RunAsync(_temp, gdnet, "decode", "--hex", "0200000007000000")).Trim());

        // A console project that references the GdNet package (outside the repository: no central package management).
        var app = Path.Combine(_temp, "app");
        Directory.CreateDirectory(app);
        File.Copy(nugetConfig, Path.Combine(app, "nuget.config"));
        await File.WriteAllTextAsync(Path.Combine(app, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="GdNet" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using GdNet.Variants;

            var bytes = VariantCodec.Encode(Variant.From(new Vector2(0, 1)));
            var back = VariantCodec.Read(bytes);
            Console.WriteLine(Convert.ToHexString(bytes).ToLowerInvariant() + " " + VariantText.Format(back));
            """);
        var output = await RunAsync(app, "dotnet", "run", "-c", "Release", "-nodeReuse:false", "-p:UseSharedCompilation=false");
        // Its last line (dotnet run may print restore or build notes before it).
        Assert.Equal("05000000000000000000803f Vector2( 0, 1 )", output.TrimEnd().Split('\n')[^1].Trim());
    }

    /// <summary>Runs a process to its end (bounded) and returns its standard output; fails the test on a non-zero exit.</summary>
    private static async Task<string> RunAsync(string workingDirectory, string fileName, params string[] args)
    {
        var psi = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // The test host's MSBuild variables must not steer the child's build.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            psi.Environment.Remove(key);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";

        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{fileName} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ProcessTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{fileName} {string.Join(' ', args)} did not exit within {ProcessTimeout.TotalSeconds:0} s");
        }

        var output = await stdout;
        var errors = await stderr;
        Assert.True(process.ExitCode == 0, $"{fileName} {string.Join(' ', args)}: exit code {process.ExitCode}\n{output}\n{errors}");
        return output;
    }
}
