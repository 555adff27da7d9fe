using System.CommandLine;
using GdNet.Variants;

namespace GdNet.Cli.Commands;

/// <summary><c>gdnet encode --text TEXT</c>: var2str text in, var2bytes bytes out (lowercase hex).</summary>
internal static class EncodeCommand
{
    public static Command Create()
    {
        var text = new Option<string>("--text")
        {
            Description = "The Variant in Godot's text form (what var2str prints and str2var reads).",
            HelpName = "TEXT",
            Required = true,
        };
        var fullObjects = new Option<bool>("--full-objects")
        {
            Description = "Encode objects with their class name and properties, like var2bytes(value, true). Off by default.",
        };
        var command = new Command(
            "encode",
            """
            Encode a Godot 3 Variant given in text form (str2var) and print its binary form (var2bytes) as lowercase hex.
            Alignment padding is written as zeros.
            Example: gdnet encode --text "Vector2( 1, 2 )"   prints   050000000000803f00000040
            """)
        {
            text,
            fullObjects,
        };
        command.SetAction(result => Run(result, result.GetRequiredValue(text), result.GetValue(fullObjects)));
        return command;
    }

    private static int Run(ParseResult result, string text, bool fullObjects)
    {
        if (!VariantText.TryParse(text, out var value, out var error))
        {
            return CliOutput.Fail(result, $"cannot read the text: {error}");
        }

        byte[] bytes;
        try
        {
            bytes = new byte[VariantCodec.GetEncodedSize(value, fullObjects)];
            if (!VariantCodec.TryWrite(value, bytes, out var written, fullObjects) || written != bytes.Length)
            {
                return CliOutput.Fail(result, "the encoder wrote an unexpected number of bytes");
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return CliOutput.Fail(result, $"cannot encode the value: {e.Message}");
        }

        CliOutput.Out(result).WriteLine(Convert.ToHexStringLower(bytes));
        return 0;
    }
}
