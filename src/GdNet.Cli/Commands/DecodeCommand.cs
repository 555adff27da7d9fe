using System.CommandLine;
using GdNet.Variants;

namespace GdNet.Cli.Commands;

/// <summary><c>gdnet decode --hex HEX</c>: var2bytes bytes in, var2str text out.</summary>
internal static class DecodeCommand
{
    public static Command Create()
    {
        var hex = new Option<string>("--hex")
        {
            Description = "The Variant's var2bytes encoding in hexadecimal (whitespace is ignored).",
            HelpName = "HEX",
            Required = true,
        };
        var allowObjects = new Option<bool>("--allow-objects")
        {
            Description = "Decode full objects (class name and properties) as data, like bytes2var(bytes, true). Off by default.",
        };
        var command = new Command(
            "decode",
            """
            Decode a Godot 3 Variant from its binary form (var2bytes) and print its text form (var2str).
            Example: gdnet decode --hex 050000000000803f00000040   prints   Vector2( 1, 2 )
            """)
        {
            hex,
            allowObjects,
        };
        command.SetAction(result => Run(result, result.GetRequiredValue(hex), result.GetValue(allowObjects)));
        return command;
    }

    private static int Run(ParseResult result, string hexText, bool allowObjects)
    {
        var bytes = CliOutput.ParseHex(hexText, "--hex", out var reason);
        if (bytes is null)
        {
            return CliOutput.Fail(result, reason!);
        }

        var options = new VariantReadOptions { AllowObjects = allowObjects };
        if (!VariantCodec.TryRead(bytes, options, out var value, out var consumed, out var error))
        {
            var hint = error.Reason == VariantErrorReason.ObjectsNotAllowed ? "; pass --allow-objects to decode it" : "";
            return CliOutput.Fail(result, $"cannot decode the bytes: {error.Message}{hint}");
        }

        if (consumed != bytes.Length)
        {
            return CliOutput.Fail(result, $"the Variant ({value.Type}) ends after {consumed} bytes, but {bytes.Length - consumed} more bytes follow it");
        }

        var text = VariantText.Format(value);
        var output = CliOutput.Out(result);
        output.Write(text);
        if (!text.EndsWith('\n'))
        {
            output.Write('\n');
        }

        return 0;
    }
}
