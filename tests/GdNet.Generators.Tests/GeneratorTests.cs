using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using GdNet.Multiplayer;
using GdNet.Variants;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace GdNet.Generators.Tests;

/// <summary>The generator on source snippets (CSharpGeneratorDriver): each GDNET diagnostic, and generated tables that
/// compile without warnings and dispatch correctly once the assembly is loaded.</summary>
public class GeneratorTests
{
    private static readonly MetadataReference[] References =
        [.. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).Select(p => MetadataReference.CreateFromFile(p))];

    private const string Usings = "using GdNet.Multiplayer;\nusing GdNet.Variants;\nnamespace Snippets;\n";

    private static (ImmutableArray<Diagnostic> Generator, Compilation Output) Run(string source, string assemblyName = "Snippet")
    {
        var compilation = CSharpCompilation.Create(
            assemblyName,
            [CSharpSyntaxTree.ParseText(Usings + source, new CSharpParseOptions(LanguageVersion.Latest))],
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        CSharpGeneratorDriver.Create(new RpcGenerator().AsSourceGenerator())
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return (diagnostics, output);
    }

    /// <summary>The generator's diagnostics as "ID: message", and no compiler errors besides.</summary>
    private static List<string> Diagnose(string source)
    {
        var (generator, output) = Run(source);
        var compileErrors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.Empty(compileErrors);
        return [.. generator.Select(d => $"{d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}")];
    }

    private static void AssertOne(string source, string id, params string[] inMessage)
    {
        var diagnostics = Diagnose(source);
        var d = Assert.Single(diagnostics);
        Assert.StartsWith(id + ":", d, StringComparison.Ordinal);
        foreach (var part in inMessage)
        {
            Assert.Contains(part, d, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void GDNET001_ParameterWithoutVariantMapping()
    {
        AssertOne("public class N : Node { [Remote] public void Take(System.IO.Stream s) { } }", "GDNET001", "Parameter 's' of RPC method 'N.Take'", "'System.IO.Stream'");
    }

    [Fact]
    public void GDNET001_RsetMemberWithoutVariantMapping()
    {
        AssertOne("public class N : Node { [Remote] public object? Value { get; set; } }", "GDNET001", "Rset member 'N.Value'");
    }

    [Fact]
    public void GDNET001_PrivateParameterType_NamedInaccessible()
    {
        AssertOne("public class N : Node { private enum E { A } [Remote] private void Take(E e) { } }", "GDNET001", "not accessible from generated code");
    }

    [Fact]
    public void GDNET002_DuplicateWireNameViaName()
    {
        AssertOne("public class N : Node { [Remote(Name = \"x\")] public void A() { } [Master(Name = \"x\")] public void B() { } }", "GDNET002", "'N.A' and 'N.B'", "'x'");
    }

    [Fact]
    public void GDNET002_NameEqualToAnotherMembersName()
    {
        AssertOne("public class N : Node { [Remote] public int A; [Remote(Name = \"A\")] public int B { get; set; } }", "GDNET002", "wire name 'A'");
    }

    [Fact]
    public void GDNET002_ClashWithInheritedMember()
    {
        AssertOne("public class B : Node { [Remote] public void Go() { } } public class D : B { [Remote(Name = \"Go\")] public void Run() { } }", "GDNET002", "'B.Go' and 'D.Run'");
    }

    [Fact]
    public void GDNET003_StaticMember()
    {
        AssertOne("public class N : Node { [Remote] public static void Go() { } }", "GDNET003", "'N.Go' is static");
    }

    [Fact]
    public void GDNET003_GenericMethod()
    {
        AssertOne("public class N : Node { [Remote] public void Go<T>(int a) { } }", "GDNET003", "'N.Go' is a generic method");
    }

    [Fact]
    public void GDNET004_GenericNodeNotPartial()
    {
        AssertOne("public class G<T> : Node { [Remote] public void Go(int a) { } }", "GDNET004", "'G<T>'", "declare it partial");
    }

    [Fact]
    public void GDNET004_NestedInGenericNotPartial()
    {
        AssertOne("public partial class O<T> { public class N : Node { [Remote] public void Go(int a) { } } }", "GDNET004", "nested in a generic type", "the types that contain it");
    }

    [Fact]
    public void GDNET005_ReadonlyField()
    {
        AssertOne("public class N : Node { [Remote] public readonly int Value; }", "GDNET005", "'N.Value'", "a readonly field");
    }

    [Fact]
    public void GDNET005_GetOnlyProperty()
    {
        AssertOne("public class N : Node { [Puppet] public int Value => 1; }", "GDNET005", "a property without a setter");
    }

    [Fact]
    public void GDNET005_InitOnlyProperty()
    {
        AssertOne("public class N : Node { [Puppet] public int Value { get; init; } }", "GDNET005", "an init-only property");
    }

    [Fact]
    public void GDNET006_TwoRpcAttributes()
    {
        AssertOne("public class N : Node { [Remote, Master] public void Go() { } }", "GDNET006", "'N.Go' has 2 RPC attributes (RemoteAttribute, MasterAttribute)");
    }

    [Fact]
    public void GDNET007_ByRefParameter()
    {
        AssertOne("public class N : Node { [Remote] public void Go(ref int n) { } }", "GDNET007", "Parameter 'n' of RPC method 'N.Go'", "(ref)");
    }

    [Fact]
    public void GDNET008_TooManyParameters()
    {
        var parameters = string.Join(", ", Enumerable.Range(0, 256).Select(i => $"int p{i}"));
        AssertOne($"public class N : Node {{ [Remote] public void Go({parameters}) {{ }} }}", "GDNET008", "256 parameters");
    }

    [Fact]
    public void GDNET009_EmptyWireName()
    {
        AssertOne("public class N : Node { [Remote(Name = \"\")] public void Go() { } }", "GDNET009", "'N.Go'");
    }

    [Fact]
    public void GDNET010_AttributedOverloads()
    {
        AssertOne("public class N : Node { [Remote(Name = \"a\")] public void Go() { } [Remote(Name = \"b\")] public void Go(int n) { } }", "GDNET010", "'N.Go'");
    }

    [Fact]
    public void NotANode_Ignored()
    {
        Assert.Empty(Diagnose("public class N { [Remote] public void Take(System.IO.Stream s) { } }"));
    }

    private const string Valid = """
        public static class Log
        {
            public static readonly System.Collections.Generic.List<string> Lines = new();
        }

        public enum Color8 : byte { Red = 1, Blue = 200 }

        public class Visible : Node
        {
            [Remote] private void Secret(int n) => Log.Lines.Add($"Secret({n})");
            [Remote] protected virtual void Hook(string s) => Log.Lines.Add($"Visible.Hook({s})");
            [Remote] public void Defaults(long a = -9223372036854775808, float f = 1.5f, double d = double.NaN, Color8 c = Color8.Blue, string s = "q\"", int? n = null, Color8? e = Color8.Red)
                => Log.Lines.Add($"Defaults({a},{f},{d},{c},{s},{n?.ToString() ?? "null"},{e})");
            [Remote(Name = "kw")] public void @event(Color8 c, int? n, byte[] bytes) => Log.Lines.Add($"event({c},{n?.ToString() ?? "null"},{bytes.Length})");
            [Puppet] public int Score { get; private set; }
            [Puppet] private string _motd = "";
            public string Motd => _motd;
            [Remote] public int Returns(int n) => n * 2;
        }

        public class Derived : Visible
        {
            protected override void Hook(string s) => Log.Lines.Add($"Derived.Hook({s})");
        }

        public static class Outer
        {
            private sealed class Hidden : Node
            {
                [Remote] public void Go(Vector2 v) => Log.Lines.Add($"Hidden.Go({v.X},{v.Y})");
                [Remote] private string? Name2 { get; set; }
                [Remote] internal Vector2 Where = new(0, 0);
            }

            public static Node MakeHidden() => new Hidden();
        }

        public partial class Spawner<T> : Node
        {
            [Remote] private void Spawn(int n) => Log.Lines.Add($"Spawner<{typeof(T).Name}>.Spawn({n})");
        }
        """;

    [Fact]
    public void ValidTypes_GeneratedCodeCompilesWithoutWarnings()
    {
        var (generator, output) = Run(Valid);

        Assert.Empty(generator);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        Assert.Contains(output.SyntaxTrees, t => t.ToString().Contains("UnsafeAccessorType", StringComparison.Ordinal));
    }

    [Fact]
    public void ValidTypes_LoadedAssembly_DispatchesThroughGeneratedTables()
    {
        var assembly = Load(Valid, "SnippetDispatch");
        var log = (List<string>)assembly.GetType("Snippets.Log")!.GetField("Lines")!.GetValue(null)!;
        var visible = (Node)Activator.CreateInstance(assembly.GetType("Snippets.Visible")!)!;
        var derived = (Node)Activator.CreateInstance(assembly.GetType("Snippets.Derived")!)!;
        var hidden = (Node)assembly.GetType("Snippets.Outer")!.GetMethod("MakeHidden")!.Invoke(null, null)!;
        var spawner = (Node)Activator.CreateInstance(assembly.GetType("Snippets.Spawner`1")!.MakeGenericType(typeof(string)))!;

        Assert.True(visible.TypeInfo.IsGenerated);
        Assert.True(derived.TypeInfo.IsGenerated);
        Assert.True(hidden.TypeInfo.IsGenerated);
        Assert.True(spawner.TypeInfo.IsGenerated);
        Assert.Equal(-1, Call(visible, "Secret", 4));
        Assert.Equal(-1, Call(visible, "Hook", "a"));
        Assert.Equal(-1, Call(derived, "Hook", "b"));
        Assert.Equal(-1, Call(derived, "Secret", 5));
        Assert.Equal(-1, Call(visible, "Defaults"));
        Assert.Equal(-1, Call(visible, "kw", 200, Variant.Nil, new VariantArray { 1, 2.5 }));
        Assert.Equal(0, Call(visible, "kw", "x", 1, new byte[1]));
        Assert.Equal(-1, Call(visible, "Returns", 1));
        Assert.Equal(-1, Call(hidden, "Go", new Vector2(1, 2)));
        Assert.Equal(-1, Call(spawner, "Spawn", 3));
        Assert.True(visible.TypeInfo.FindProperty("Score")!.Set!(visible, 2.9));
        Assert.True(visible.TypeInfo.FindProperty("_motd")!.Set!(visible, new NodePath("m")));
        Assert.True(hidden.TypeInfo.FindProperty("Name2")!.Set!(hidden, "n"));
        Assert.True(hidden.TypeInfo.FindProperty("Where")!.Set!(hidden, new Vector2(5, 6)));
        Assert.False(hidden.TypeInfo.FindProperty("Where")!.Set!(hidden, 5));

        Assert.Equal(
            [
                "Secret(4)", "Visible.Hook(a)", "Derived.Hook(b)", "Secret(5)",
                "Defaults(-9223372036854775808,1.5,NaN,Blue,q\",null,Red)", "event(Blue,null,2)", "Hidden.Go(1,2)", "Spawner<String>.Spawn(3)",
            ],
            log);
        Assert.Equal(2, visible.GetType().GetProperty("Score")!.GetValue(visible));
        Assert.Equal("m", visible.GetType().GetProperty("Motd")!.GetValue(visible));
        Assert.Equal(new Vector2(5, 6), hidden.GetType().GetField("Where", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(hidden));
    }

    private static int Call(Node node, string wireName, params Variant[] args) =>
        node.TypeInfo.FindMethodByWireName(wireName)!.Invoke!(node, args, args.Length);

    private static Assembly Load(string source, string name)
    {
        var (_, output) = Run(source, name);
        var path = Path.Combine(Path.GetTempPath(), $"{name}-{Environment.ProcessId}-{Guid.NewGuid():N}.dll");
        var result = output.Emit(path);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        return AssemblyLoadContext.Default.LoadFromAssemblyPath(path);
    }
}
