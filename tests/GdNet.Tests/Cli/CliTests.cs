using System.Text.Json;
using GdNet.Cli;
using GdNet.TestSupport;
using Xunit;

namespace GdNet.Tests.Cli;

/// <summary>Runs <c>gdnet decode</c> and <c>gdnet encode</c> in-process over the golden var2bytes vectors.</summary>
public class CliTests
{
    private static readonly Lazy<JsonElement> Vectors = new(() =>
        JsonDocument.Parse(File.ReadAllText(Paths.SharedFile("godot3/vectors/variants.json"))).RootElement);

    // var2str prints floats as float32 with 6 significant digits, dictionary keys sorted, and an RID as nothing, so these
    // values do not survive decode -> text -> encode byte for byte (the text does: see the second theory).
    private static readonly HashSet<string> LossyInText =
    [
        "float_neg0", "float_pi", "float_1e300", "float_16777217", "float_f32_max", "float_1e39", "float_denormal_min",
        "dict_mixed_keys", "rid_empty",
    ];

    public static TheoryData<string> ExactVectors => Names(v => !LossyInText.Contains(v));

    public static TheoryData<string> LossyVectors => Names(v => LossyInText.Contains(v) && v != "rid_empty");

    private static TheoryData<string> Names(Func<string, bool> where)
    {
        var data = new TheoryData<string>();
        foreach (var v in Vectors.Value.GetProperty("values").EnumerateArray())
        {
            var name = v.GetProperty("name").GetString()!;
            if (where(name))
            {
                data.Add(name);
            }
        }

        return data;
    }

    private static JsonElement Vector(string section, string name) =>
        Vectors.Value.GetProperty(section).EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);

    private static string ZeroPaddedHex(JsonElement v) =>
        (v.TryGetProperty("hex_zero_padding", out var z) ? z : v.GetProperty("hex")).GetString()!;

    private sealed record Result(int ExitCode, string Out, string Err);

    private static Result Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = Program.Run(args, output, error);
        return new Result(code, output.ToString(), error.ToString());
    }

    private static string Decode(string hex, bool allowObjects = false)
    {
        var r = allowObjects ? Run("decode", "--hex", hex, "--allow-objects") : Run("decode", "--hex", hex);
        Assert.True(r.ExitCode == 0, $"decode {hex} failed: {r.Err}");
        Assert.Equal("", r.Err);
        return r.Out;
    }

    private static string Encode(string text, bool fullObjects = false)
    {
        var r = fullObjects ? Run("encode", "--text", text, "--full-objects") : Run("encode", "--text", text);
        Assert.True(r.ExitCode == 0, $"encode {text} failed: {r.Err}");
        Assert.Equal("", r.Err);
        Assert.EndsWith("\n", r.Out, StringComparison.Ordinal);
        return r.Out.TrimEnd('\n');
    }

    private static void AssertBadInput(Result r)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Out);
        Assert.StartsWith("gdnet: ", r.Err, StringComparison.Ordinal);
        Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
    }

    // ---- round trips over the golden vectors -----------------------------------------------------------------

    [Theory]
    [MemberData(nameof(ExactVectors))]
    public void DecodeThenEncode_ValueVector_GivesBackTheZeroPaddedBytes(string name)
    {
        var v = Vector("values", name);

        var text = Decode(v.GetProperty("hex").GetString()!);

        Assert.Equal(ZeroPaddedHex(v), Encode(text));
    }

    [Theory]
    [MemberData(nameof(LossyVectors))]
    public void DecodeThenEncode_VectorLossyInText_KeepsTheText(string name)
    {
        var text = Decode(Vector("values", name).GetProperty("hex").GetString()!);

        Assert.Equal(text, Decode(Encode(text)));
    }

    [Fact]
    public void Decode_FloatVector_PrintsGodotsText()
    {
        Assert.Equal("3.14159\n", Decode(Vector("values", "float_pi").GetProperty("hex").GetString()!));
    }

    [Fact]
    public void Decode_Rid_PrintsAnEmptyLineThatDoesNotEncode()
    {
        Assert.Equal("\n", Decode(Vector("values", "rid_empty").GetProperty("hex").GetString()!));
        AssertBadInput(Run("encode", "--text", ""));
    }

    [Theory]
    [InlineData("object_reference")]
    [InlineData("object_node")]
    public void DecodeThenEncode_ObjectAsId_GivesBackTheBytes(string name)
    {
        var hex = Vector("objects", name).GetProperty("hex").GetString()!;

        var text = Decode(hex);

        Assert.StartsWith("Object(EncodedObjectAsID,\"object_id\":", text, StringComparison.Ordinal);
        Assert.Equal(hex, Encode(text));
    }

    [Theory]
    [InlineData("object_reference")]
    [InlineData("object_node")]
    public void DecodeThenEncode_FullObjectWithObjectsAllowed_GivesBackTheBytes(string name)
    {
        var hex = Vector("objects", name).GetProperty("hex_full_objects").GetString()!;

        var text = Decode(hex, allowObjects: true);

        Assert.StartsWith("Object(", text, StringComparison.Ordinal);
        Assert.Equal(hex, Encode(text, fullObjects: true));
    }

    [Fact]
    public void Decode_FullObjectWithoutAllowObjects_FailsWithHint()
    {
        var r = Run("decode", "--hex", Vector("objects", "object_reference").GetProperty("hex_full_objects").GetString()!);

        AssertBadInput(r);
        Assert.Contains("--allow-objects", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_HexWithSpacesAndCapitals_IsAccepted()
    {
        Assert.Equal("Vector2( 1, 2 )\n", Decode("05000000 0000803F 00000040"));
    }

    [Fact]
    public void Encode_TextStartingWithMinus_IsAccepted()
    {
        Assert.Equal("02000000fbffffff", Encode("-5"));
    }

    [Fact]
    public void Encode_DictionaryText_UsesTheTextOrder()
    {
        Assert.Equal("120000000200000004000000010000006100000002000000010000000400000001000000620000000200000002000000",
            Encode("{ \"a\": 1, \"b\": 2 }"));
    }

    // ---- bad input -------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("zz")]
    [InlineData("123")]
    [InlineData("0x02000000")]
    public void Decode_NotHex_ExitsWith2AndOneLine(string hex)
    {
        AssertBadInput(Run("decode", "--hex", hex));
    }

    [Theory]
    [InlineData("0200")] // truncated header
    [InlineData("02000000 0100")] // truncated int
    [InlineData("1b000000")] // unknown type 27
    [InlineData("04000000 02000000 fffe0000")] // invalid UTF-8
    public void Decode_UndecodableBytes_ExitsWith2AndOneLine(string hex)
    {
        var r = Run("decode", "--hex", hex);

        AssertBadInput(r);
        Assert.Contains("cannot decode", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_TrailingBytes_ExitsWith2AndOneLine()
    {
        var r = Run("decode", "--hex", "00000000ffffffff");

        AssertBadInput(r);
        Assert.Contains("4 more bytes", r.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Vector2( 1, ")]
    [InlineData("[ 1 2 ]")]
    [InlineData("\"unterminated")]
    [InlineData("1 2")]
    public void Encode_UnparsableText_ExitsWith2AndOneLineWithThePosition(string text)
    {
        var r = Run("encode", "--text", text);

        AssertBadInput(r);
        Assert.Contains("at line 1, column", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_MultiLineBadText_ReasonStaysOnOneLine()
    {
        AssertBadInput(Run("encode", "--text", "{\n\"a\": 1,\n\"b\" 2\n}"));
    }

    [Theory]
    [InlineData("decode")]
    [InlineData("encode")]
    [InlineData("decode", "--hex", "00", "--bogus")]
    [InlineData("frobnicate")]
    public void Run_BadUsage_ExitsWith2AndOneLine(params string[] args)
    {
        AssertBadInput(Run(args));
    }

    // ---- help ------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("decode", "--hex", "--allow-objects", "gdnet decode --hex 050000000000803f00000040")]
    [InlineData("encode", "--text", "--full-objects", "gdnet encode --text \"Vector2( 1, 2 )\"")]
    public void Help_Command_DescribesOptionsAndGivesAnExample(string command, string option1, string option2, string example)
    {
        var r = Run(command, "--help");

        Assert.Equal(0, r.ExitCode);
        Assert.Contains(option1, r.Out, StringComparison.Ordinal);
        Assert.Contains(option2, r.Out, StringComparison.Ordinal);
        Assert.Contains("Example: " + example, r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_Root_ListsTheCommands()
    {
        var r = Run("--help");

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("decode", r.Out, StringComparison.Ordinal);
        Assert.Contains("encode", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void HelpExamples_RunAsDocumented()
    {
        Assert.Equal("Vector2( 1, 2 )\n", Decode("050000000000803f00000040"));
        Assert.Equal("050000000000803f00000040", Encode("Vector2( 1, 2 )"));
    }

    // ---- the first minute: no arguments, --json for scripts, tables when piped -------------------------------------

    [Fact]
    public void NoArguments_PrintsTheHelpOnStdoutAndExitsZero()
    {
        var r = Run();

        Assert.Equal(0, r.ExitCode); // as 'gdnet --help' (README: "gdnet alone prints this help")
        Assert.Equal("", r.Err);
        Assert.Equal(Run("--help").Out, r.Out);
        foreach (var command in new[] { "serve", "demo", "bench", "soak", "decode", "encode" })
        {
            Assert.Contains("  " + command + " ", r.Out, StringComparison.Ordinal);
        }
    }

    /// <summary>The single line a <c>--json</c> run printed, parsed; fails if stdout holds anything else.</summary>
    private static JsonElement OneJsonObject(Result r)
    {
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "stdout must be one JSON object, not:\n" + r.Out + r.Err);
        using var doc = JsonDocument.Parse(lines[0]);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        return doc.RootElement.Clone();
    }

    [Fact]
    public void BenchJson_Local_OneObjectWithTheFigures()
    {
        var r = Run("bench", "--transport", "local", "--clients", "2", "--seconds", "0.3", "--json");

        var json = OneJsonObject(r);
        Assert.True(r.ExitCode == 0, r.Out + r.Err);
        Assert.Equal("bench", json.GetProperty("command").GetString());
        Assert.Equal("server", json.GetProperty("mode").GetString());
        Assert.Equal("local", json.GetProperty("transport").GetString());
        Assert.Equal(2, json.GetProperty("clients").GetInt32());
        Assert.Equal(40, json.GetProperty("rpcBytes").GetInt32());
        var sent = json.GetProperty("sent").GetInt64();
        Assert.True(sent > 0);
        Assert.Equal(sent, json.GetProperty("delivered").GetInt64());
        Assert.Equal(0, json.GetProperty("lost").GetInt64());
        Assert.Equal(0, json.GetProperty("outOfOrder").GetInt64());
        Assert.Equal(json.GetProperty("deliveredInTime").GetInt64() / json.GetProperty("seconds").GetDouble(), json.GetProperty("rpcPerSecond").GetDouble(), 6);
        var rtt = json.GetProperty("roundTripMs");
        Assert.True(rtt.GetProperty("samples").GetInt32() > 0);
        Assert.True(rtt.GetProperty("p50").GetDouble() <= rtt.GetProperty("p99").GetDouble());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("godot").ValueKind);
        Assert.Equal(JsonValueKind.Object, json.GetProperty("transportRejections").ValueKind);
        Assert.True(json.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public void BenchJson_RelayLocal_ReportsTheRelayMode()
    {
        var r = Run("bench", "--relay", "--transport", "local", "--clients", "2", "--seconds", "0.3", "--json");

        var json = OneJsonObject(r);
        Assert.True(r.ExitCode == 0, r.Out + r.Err);
        Assert.Equal("relay", json.GetProperty("mode").GetString());
        Assert.Equal(1, json.GetProperty("rooms").GetInt32());
        Assert.True(json.GetProperty("delivered").GetInt64() > 0);
        Assert.Equal(0, json.GetProperty("lost").GetInt64());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("roundTripMs").ValueKind);
        Assert.True(json.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public void DemoJson_Local_EveryBotInTheObject()
    {
        var r = Run("demo", "--transport", "local", "--bots", "2", "--json");

        var json = OneJsonObject(r);
        Assert.True(r.ExitCode == 0, r.Out + r.Err);
        Assert.Equal("demo", json.GetProperty("command").GetString());
        Assert.Equal("local", json.GetProperty("transport").GetString());
        var bots = json.GetProperty("bots").EnumerateArray().ToList();
        Assert.Equal([1, 2], bots.Select(b => b.GetProperty("bot").GetInt32()));
        foreach (var bot in bots)
        {
            Assert.Equal("ok", bot.GetProperty("result").GetString());
            Assert.Equal(JsonValueKind.Null, bot.GetProperty("detail").ValueKind);
            Assert.Equal(2, bot.GetProperty("chatLines").GetInt32());
            Assert.Contains("announce", bot.GetProperty("stepsPassed").EnumerateArray().Select(s => s.GetString()));
            Assert.True(bot.GetProperty("id").GetInt32() > 1);
        }

        Assert.Equal(2, json.GetProperty("serverClientsOk").GetInt32());
        Assert.True(json.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public void Bench_Piped_TableRowsAreNotWrappedAt80Columns()
    {
        var r = Run("bench", "--transport", "local", "--clients", "2", "--seconds", "0.2");

        Assert.True(r.ExitCode == 0, r.Out + r.Err);
        var lines = r.Out.Split('\n');
        // Each row on one line, label and value together (at 80 columns the label and the value wrapped).
        Assert.Contains(lines, l => l.Contains("RPCs sent / received", StringComparison.Ordinal) && l.Contains(" within ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("vs Godot burst, reliable (129,870 RPC/s, README)", StringComparison.Ordinal) && l.Contains("n/a (local)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Length > 80);
        Assert.DoesNotContain("\u001b[", r.Out, StringComparison.Ordinal); // no colour codes in a pipe
    }

    [Fact]
    public void Version_IsTheVersionOfDirectoryBuildProps_PlusTheCommit()
    {
        var props = System.Xml.Linq.XDocument.Load(Path.Combine(Paths.RepoRoot, "Directory.Build.props"));
        var expected = props.Descendants("VersionPrefix").Single().Value.Trim();

        var r = Run("--version");

        Assert.True(r.ExitCode == 0, r.Out + r.Err);
        var printed = r.Out.Trim();
        Assert.StartsWith(expected, printed, StringComparison.Ordinal);
        if (Directory.Exists(Path.Combine(Paths.RepoRoot, ".git")) || File.Exists(Path.Combine(Paths.RepoRoot, ".git")))
        {
            // Built from a git checkout: "+" and the first 7 hex digits of the commit (Directory.Build.targets).
            Assert.Matches(@"^" + System.Text.RegularExpressions.Regex.Escape(expected) + @"\+[0-9a-f]{7}$", printed);
        }
    }
}
