using Microsoft.CodeAnalysis;

namespace GdNet.Generators;

/// <summary>The errors GdNet.Generators reports on RPC declarations. Ids are stable: never reuse or renumber one.</summary>
internal static class Diagnostics
{
    private const string Category = "GdNet.Rpc";

    /// <summary>A parameter or rset member type with no Variant mapping.</summary>
    public static readonly DiagnosticDescriptor UnsupportedType = new(
        "GDNET001",
        "RPC type has no Variant mapping",
        "{0} has type '{1}', which a Variant cannot bind to{2}; use a Godot type (bool, an integer or floating-point type, string, an enum, NodePath, Vector2, Vector3, Color, …, VariantArray, VariantDictionary, a pool array such as byte[] or Vector2[]) or Variant",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>Two RPC methods, or two rset members, of one node class with the same wire name.</summary>
    public static readonly DiagnosticDescriptor DuplicateWireName = new(
        "GDNET002",
        "Duplicate RPC wire name",
        "'{0}' and '{1}' of '{2}' both use the wire name '{3}'; give one of them another Name (wire names are case-sensitive)",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>An RPC attribute on a static or generic member.</summary>
    public static readonly DiagnosticDescriptor StaticOrGeneric = new(
        "GDNET003",
        "RPC attribute on a static or generic member",
        "'{0}' is {1}; RPC methods and rset members must be non-generic instance members of the node",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>A generic node class with RPC members that is not partial.</summary>
    public static readonly DiagnosticDescriptor NotPartial = new(
        "GDNET004",
        "Node class must be partial",
        "Node class '{0}' declares RPC members and is generic{1}: declare {2} partial, so that GdNet.Generators can write its RPC dispatch table into it",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>An rset attribute on a member that cannot be set.</summary>
    public static readonly DiagnosticDescriptor ReadOnlyRset = new(
        "GDNET005",
        "Rset attribute on a read-only member",
        "'{0}' cannot be set remotely: it is {1}; rset needs a property with a setter or a writable instance field",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>More than one RPC attribute on one member.</summary>
    public static readonly DiagnosticDescriptor MultipleAttributes = new(
        "GDNET006",
        "More than one RPC attribute on a member",
        "'{0}' has {1} RPC attributes ({2}); a member has one mode: keep one (RpcConfig/RsetConfig change it per node at run time)",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>A by-reference RPC parameter.</summary>
    public static readonly DiagnosticDescriptor ByRefParameter = new(
        "GDNET007",
        "RPC parameter passed by reference",
        "Parameter '{0}' of RPC method '{1}' is passed by reference ({2}); RPC parameters must be passed by value",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>An RPC method with more than 255 parameters.</summary>
    public static readonly DiagnosticDescriptor TooManyParameters = new(
        "GDNET008",
        "Too many RPC parameters",
        "RPC method '{0}' has {1} parameters; an RPC carries at most 255 arguments",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>An empty wire name or one containing NUL.</summary>
    public static readonly DiagnosticDescriptor InvalidWireName = new(
        "GDNET009",
        "Invalid RPC wire name",
        "The wire name of '{0}' is empty or contains NUL; leave Name unset to use the C# name",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>Several overloads of one method name with RPC attributes.</summary>
    public static readonly DiagnosticDescriptor Overloads = new(
        "GDNET010",
        "Several RPC overloads of one name",
        "'{0}' has several overloads with RPC attributes; a node type has one RPC per C# name (the runtime would use only one of them): rename the others",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);
}
