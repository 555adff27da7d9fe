using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Spectre.Console;

namespace GdNet.Cli.Commands;

/// <summary>Shared plumbing for commands: invocation with given writers, and the "bad input" exit.</summary>
internal static class CliOutput
{
    /// <summary>The exit code for bad input or bad usage.</summary>
    public const int BadInput = 2;

    /// <summary>Parses and invokes; usage errors become one line on <paramref name="error"/> and exit code 2.</summary>
    public static int Invoke(RootCommand root, string[] args, TextWriter output, TextWriter error)
    {
        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            var command = string.Join(' ', result.CommandResult.Command == root ? ["gdnet"] : new[] { "gdnet", result.CommandResult.Command.Name });
            var reasons = string.Join("; ", result.Errors.Select(e => e.Message));
            error.WriteLine($"gdnet: {OneLine(reasons)} (see '{command} --help')");
            return BadInput;
        }

        // Ctrl+C/SIGTERM cancel the action's token; the action then finishes its own shutdown (serve drains for up to
        // --drain-seconds), so System.CommandLine must not kill the process 2 s later as it does by default.
        return result.Invoke(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = TimeSpan.FromHours(1) });
    }

    public static TextWriter Out(ParseResult result) => result.InvocationConfiguration.Output;

    /// <summary>Columns of a console that is not a terminal (a pipe, a file): wide enough that no table wraps.</summary>
    public const int UnboundedWidth = 4096;

    /// <summary>
    /// A Spectre console writing to <paramref name="output"/>: colours, live progress and the window's width only on a
    /// real terminal; piped or redirected, plain text as wide as it needs (tables never wrap at 80 columns).
    /// </summary>
    public static IAnsiConsole CreateConsole(TextWriter output)
    {
        var terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
        {
            console.Profile.Width = UnboundedWidth;
        }

        return console;
    }

    /// <summary>The <c>--json</c> option of a command whose result scripts read.</summary>
    public static Option<bool> JsonOption(string fields) => new("--json")
    {
        Description = "Print one JSON object on stdout instead of text (nothing else on stdout; errors stay on stderr with their exit code). Fields: " + fields,
    };

    /// <summary>Writes <paramref name="report"/> as one JSON object (one line) on the command's output.</summary>
    public static void WriteJson<T>(ParseResult result, T report, JsonTypeInfo<T> type)
    {
        var output = Out(result);
        output.WriteLine(JsonSerializer.Serialize(report, type));
        output.Flush();
    }

    /// <summary>Writes "gdnet: reason" as one line on the error writer and returns exit code 2.</summary>
    public static int Fail(ParseResult result, string reason)
    {
        result.InvocationConfiguration.Error.WriteLine($"gdnet: {OneLine(reason)}");
        return BadInput;
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    /// <summary>Reads hexadecimal bytes; whitespace is ignored. Returns null and a reason when it is not hex.</summary>
    public static byte[]? ParseHex(string text, string optionName, out string? reason)
    {
        var digits = new System.Text.StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                continue;
            }

            if (!char.IsAsciiHexDigit(c))
            {
                reason = $"{optionName} is not hexadecimal: '{c}' at position {i + 1}";
                return null;
            }

            digits.Append(c);
        }

        if (digits.Length % 2 != 0)
        {
            reason = $"{optionName} has an odd number of hex digits ({digits.Length}); each byte needs two";
            return null;
        }

        reason = null;
        return Convert.FromHexString(digits.ToString());
    }
}
