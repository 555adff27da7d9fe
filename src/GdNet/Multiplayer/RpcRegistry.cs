using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using GdNet.Variants;

namespace GdNet.Multiplayer;

/// <summary>
/// Calls a handler with bound arguments: returns -1 when it ran, or the index of the first argument that does not convert
/// (the handler is then not called). <paramref name="count"/> is between the member's required and total parameter counts.
/// </summary>
/// <param name="node">The node to call; an instance of the table's type.</param>
/// <param name="args">The received arguments (at least <paramref name="count"/>).</param>
/// <param name="count">How many arguments were received; missing optional parameters take their default values.</param>
/// <returns>-1 when the handler ran, else the index of the first argument that does not convert.</returns>
[EditorBrowsable(EditorBrowsableState.Never)]
public delegate int RpcInvoker(Node node, Variant[] args, int count);

/// <summary>Sets a property or field from a Variant; false when the value does not convert.</summary>
/// <param name="node">The node to set; an instance of the table's type.</param>
/// <param name="value">The received value.</param>
/// <returns>True when the value converted and was assigned.</returns>
[EditorBrowsable(EditorBrowsableState.Never)]
public delegate bool RsetInvoker(Node node, Variant value);

/// <summary>
/// The RPC dispatch tables written at compile time by GdNet.Generators, keyed by node type: the runtime finds a node
/// type's RPC methods and rset members here without reflection, so dispatch works in trimmed and NativeAOT apps.
/// </summary>
/// <remarks>
/// <para>Called only by generated code: each assembly compiled with the generator registers itself and its tables from a
/// module initializer, before any of its types is used. A node type of such an assembly with no table declares no RPC
/// member of its own and shares its base type's table. Types of assemblies compiled without the generator fall back to
/// reflection (<see cref="RpcTypeInfo"/>), which trimmed and NativeAOT apps do not have.</para>
/// <para>Not meant for hand-written code; the shape of these calls may change with the generator.</para>
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class RpcRegistry
{
    private static readonly ConcurrentDictionary<Type, Entry> Entries = new();
    private static readonly ConcurrentDictionary<Assembly, bool> Assemblies = new();

    /// <summary>What the generator wrote for one type.</summary>
    internal sealed class Entry
    {
        public Entry(Action<RpcTableBuilder>? build, string? invalidReason, bool isGenericDefinition)
        {
            Build = build;
            InvalidReason = invalidReason;
            IsGenericDefinition = isGenericDefinition;
        }

        /// <summary>Adds the type's own members (null for an invalid type or a generic definition).</summary>
        public Action<RpcTableBuilder>? Build { get; }

        /// <summary>Set when the generator reported errors for the type and wrote no table (the diagnostic ids).</summary>
        public string? InvalidReason { get; }

        /// <summary>A generic node type: each constructed type registers its own table from its static constructor.</summary>
        public bool IsGenericDefinition { get; }
    }

    /// <summary>Marks <paramref name="assembly"/> as compiled with the generator: its node types without a table declare
    /// no RPC member of their own.</summary>
    /// <param name="assembly">The assembly whose module initializer calls this.</param>
    public static void RegisterAssembly(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        Assemblies.TryAdd(assembly, true);
    }

    /// <summary>Registers the table of <paramref name="nodeType"/>: <paramref name="build"/> adds the members the type
    /// declares itself (inherited ones come from the base type's table). Runs on first use of the type.</summary>
    /// <param name="nodeType">A non-generic or constructed <see cref="Node"/> subclass.</param>
    /// <param name="build">Adds the type's own members to the builder it is given.</param>
    /// <returns>True (so a generated static field can hold the registration).</returns>
    public static bool Register(Type nodeType, Action<RpcTableBuilder> build)
    {
        ArgumentNullException.ThrowIfNull(nodeType);
        ArgumentNullException.ThrowIfNull(build);
        Entries[nodeType] = new Entry(build, null, isGenericDefinition: false);
        return true;
    }

    /// <summary>Registers a generic node type definition: each constructed type registers its table from its static
    /// constructor (see <see cref="Register"/>), which the runtime runs before it looks the table up.</summary>
    /// <param name="genericDefinition">The open generic type, e.g. <c>typeof(Spawner&lt;&gt;)</c>.</param>
    public static void RegisterGenericDefinition(Type genericDefinition)
    {
        ArgumentNullException.ThrowIfNull(genericDefinition);
        Entries.TryAdd(genericDefinition, new Entry(null, null, isGenericDefinition: true));
    }

    /// <summary>Marks <paramref name="nodeType"/> as declaring RPC members the generator rejected (the build reported the
    /// errors unless they were suppressed): the runtime does not treat it as having no members of its own.</summary>
    /// <param name="nodeType">The node type.</param>
    /// <param name="diagnosticIds">The ids of the errors, e.g. <c>GDNET001</c>.</param>
    public static void RegisterInvalid(Type nodeType, string diagnosticIds)
    {
        ArgumentNullException.ThrowIfNull(nodeType);
        Entries[nodeType] = new Entry(null, diagnosticIds, isGenericDefinition: false);
    }

    /// <summary>True when <paramref name="assembly"/> was compiled with the generator (GdNet itself counts: it declares
    /// no RPC member).</summary>
    internal static bool IsGenerated(Assembly assembly) => assembly == typeof(Node).Assembly || Assemblies.ContainsKey(assembly);

    /// <summary>The entry of <paramref name="type"/>, running a constructed generic type's static constructor first when
    /// its definition is registered; null when the generator wrote nothing for it.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2059", Justification = "The type is a node being constructed: it is instantiated, so trimming keeps its static constructor, which holds the generated registration.")]
    internal static Entry? Find(Type type)
    {
        if (Entries.TryGetValue(type, out var entry))
        {
            return entry;
        }

        if (type.IsConstructedGenericType && Entries.TryGetValue(type.GetGenericTypeDefinition(), out var definition))
        {
            RuntimeHelpers.RunClassConstructor(type.TypeHandle);
            return Entries.TryGetValue(type, out entry) ? entry : definition;
        }

        return null;
    }
}

/// <summary>Collects the RPC members of one node type, for generated code (see <see cref="RpcRegistry"/>).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class RpcTableBuilder
{
    private readonly string _typeName;

    internal RpcTableBuilder(Type nodeType)
    {
        _typeName = nodeType.Name;
    }

    internal List<RpcMember> Methods { get; } = [];

    internal List<RpcMember> Properties { get; } = [];

    /// <summary>Adds an RPC method.</summary>
    /// <param name="wireName">The name on the wire.</param>
    /// <param name="clrName">The C# name.</param>
    /// <param name="mode">The attribute's mode.</param>
    /// <param name="requiredCount">Parameters up to this count have no default value.</param>
    /// <param name="parameterTypes">The parameter types, in order.</param>
    /// <param name="invoke">Binds the arguments and calls the method.</param>
    public void Method(string wireName, string clrName, RpcMode mode, int requiredCount, Type[] parameterTypes, RpcInvoker invoke)
    {
        ArgumentNullException.ThrowIfNull(parameterTypes);
        ArgumentNullException.ThrowIfNull(invoke);
        RpcMember.Check(mode, wireName, $"RPC method {_typeName}.{clrName}");
        Methods.Add(new RpcMember(wireName, clrName, mode, isProperty: false, _typeName)
        {
            Invoke = invoke,
            RequiredCount = requiredCount,
            ParameterCount = parameterTypes.Length,
            ParameterTypes = parameterTypes,
        });
    }

    /// <summary>Adds an rset property or field.</summary>
    /// <param name="wireName">The name on the wire.</param>
    /// <param name="clrName">The C# name.</param>
    /// <param name="mode">The attribute's mode.</param>
    /// <param name="type">The property's or field's type.</param>
    /// <param name="set">Converts the value and assigns it.</param>
    public void Property(string wireName, string clrName, RpcMode mode, Type type, RsetInvoker set)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(set);
        RpcMember.Check(mode, wireName, $"rset member {_typeName}.{clrName}");
        Properties.Add(new RpcMember(wireName, clrName, mode, isProperty: true, _typeName)
        {
            Set = set,
            RequiredCount = 1,
            ParameterCount = 1,
            ParameterTypes = [type],
        });
    }
}

/// <summary>
/// The reflection fallback of RPC dispatch (tables built with reflection and compiled expression trees) for node types
/// that have no generated table: types of assemblies compiled without GdNet.Generators, types made at run time, and
/// members named by <c>RpcConfig</c>/<c>RsetConfig</c> without an attribute.
/// </summary>
/// <remarks>
/// The reflection code is marked <see cref="RequiresUnreferencedCodeAttribute"/> and
/// <see cref="RequiresDynamicCodeAttribute"/>, and every call of it is guarded by <see cref="IsSupported"/>, a feature
/// guard: trimming and NativeAOT compile it out (no warnings, no reflection kept), and there a type without a table is
/// an error that says so. With the JIT it is on unless the app sets the runtime switch
/// <c>GdNet.Multiplayer.RpcReflection.IsSupported</c> to false (e.g. to check that every node type has a table).
/// </remarks>
internal static class RpcReflection
{
    public const string Message = "RPC dispatch by reflection (for node types without a table from GdNet.Generators) reads members by name and compiles expression trees.";

    /// <summary>True when the reflection fallback may run (false in trimmed and NativeAOT apps).</summary>
    [FeatureSwitchDefinition("GdNet.Multiplayer.RpcReflection.IsSupported")]
    [FeatureGuard(typeof(RequiresUnreferencedCodeAttribute))]
    [FeatureGuard(typeof(RequiresDynamicCodeAttribute))]
    public static bool IsSupported { get; } =
        RuntimeFeature.IsDynamicCodeSupported && (!AppContext.TryGetSwitch("GdNet.Multiplayer.RpcReflection.IsSupported", out var on) || on);
}
