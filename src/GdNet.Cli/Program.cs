using System.CommandLine;
using GdNet.Cli.Commands;

namespace GdNet.Cli;

/// <summary>The <c>gdnet</c> program: one small file per command under <c>Commands/</c>.</summary>
public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>The root command: add one line per command.</summary>
    public static RootCommand CreateRootCommand() => new("gdnet: tools for Godot 3 compatible high-level multiplayer (GdNet).")
    {
        DecodeCommand.Create(),
        EncodeCommand.Create(),
        ServeCommand.Create(),
        DemoCommand.Create(),
        BenchCommand.Create(),
        SoakCommand.Create(),
    };

    /// <summary>
    /// Runs the program in-process, writing to <paramref name="output"/> and <paramref name="error"/>. Without arguments
    /// it prints the help (as <c>gdnet --help</c>) and exits 0.
    /// </summary>
    /// <returns>The exit code: 0 on success, 2 for bad input or bad usage (with a one-line reason on <paramref name="error"/>).</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args is ["--version"])
        {
            // System.CommandLine's own --version reads the entry assembly, which is not gdnet when run in-process.
            output.WriteLine(Version);
            return 0;
        }

        return CliOutput.Invoke(CreateRootCommand(), args.Length == 0 ? ["--help"] : args, output, error);
    }

    /// <summary>gdnet's version: Directory.Build.props' VersionPrefix, then "+" and the short commit it was built from.</summary>
    public static string Version { get; } =
        typeof(Program).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            is [System.Reflection.AssemblyInformationalVersionAttribute a, ..] ? a.InformationalVersion : "unknown";
}
