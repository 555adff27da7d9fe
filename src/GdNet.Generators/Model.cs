using System.Collections;
using Microsoft.CodeAnalysis;

#pragma warning disable CA1812, CA1852 // records are instantiated by the analysis

namespace System.Runtime.CompilerServices
{
    /// <summary>Lets netstandard2.0 compile records and init accessors.</summary>
    internal static class IsExternalInit
    {
    }
}

namespace GdNet.Generators
{
    /// <summary>An array compared by its items, so the incremental pipeline can tell an unchanged model.</summary>
    internal readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IEnumerable<T>
        where T : IEquatable<T>
    {
        private readonly T[]? _items;

        public EquatableArray(T[] items)
        {
            _items = items;
        }

        public int Count => _items?.Length ?? 0;

        public T this[int index] => _items![index];

        public bool Equals(EquatableArray<T> other)
        {
            var a = _items ?? [];
            var b = other._items ?? [];
            if (a.Length != b.Length)
            {
                return false;
            }

            for (var i = 0; i < a.Length; i++)
            {
                if (!a[i].Equals(b[i]))
                {
                    return false;
                }
            }

            return true;
        }

        public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

        public override int GetHashCode()
        {
            var h = 17;
            foreach (var item in _items ?? [])
            {
                h = (h * 31) + item.GetHashCode();
            }

            return h;
        }

        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)(_items ?? [])).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>A diagnostic to report (descriptor, place, message arguments).</summary>
    internal sealed record DiagnosticInfo(DiagnosticDescriptor Descriptor, Location? Location, EquatableArray<string> Args)
    {
        public Diagnostic ToDiagnostic() => Diagnostic.Create(Descriptor, Location, [.. Args]);
    }

    /// <summary>How generated code reaches a member.</summary>
    internal enum MemberKind
    {
        Method,
        Property,
        Field,
    }

    /// <summary>One bound value: a parameter, or the value of an rset.</summary>
    /// <param name="Type">The C# type (fully qualified).</param>
    /// <param name="Convert">The converter call, with {0} for the Variant and {1} for the out variable.</param>
    /// <param name="Default">The default value expression, null for a required parameter.</param>
    internal sealed record ValueModel(string Type, string Convert, string? Default);

    /// <summary>An RPC method or rset member the generator writes an entry for.</summary>
    /// <param name="Kind">Method, property or field.</param>
    /// <param name="ClrName">The C# name (as declared, for the table).</param>
    /// <param name="Identifier">The C# name as an identifier in generated code (escaped when a keyword).</param>
    /// <param name="MetadataName">The name in metadata (set_X for a property setter), for an accessor.</param>
    /// <param name="WireName">The name on the wire.</param>
    /// <param name="Mode">The RpcMode member name.</param>
    /// <param name="Direct">True when generated code outside the type can use the member by name.</param>
    /// <param name="ReturnType">A method's return type for an accessor ("void", or with "ref " before it).</param>
    /// <param name="Values">The parameters, or the one rset value.</param>
    /// <param name="Required">How many leading parameters have no default value.</param>
    internal sealed record MemberModel(
        MemberKind Kind,
        string ClrName,
        string Identifier,
        string MetadataName,
        string WireName,
        string Mode,
        bool Direct,
        string ReturnType,
        EquatableArray<ValueModel> Values,
        int Required);

    /// <summary>A type that contains a generic node type (written around its partial declaration).</summary>
    internal sealed record ContainerModel(string Keyword, string Name);

    /// <summary>A node type with RPC members of its own.</summary>
    /// <param name="Key">Unique within the compilation (metadata name).</param>
    /// <param name="FullName">The type as written in generated code outside it (global::…, open generic for a generic type).</param>
    /// <param name="RuntimeName">Its assembly-qualified name for Type.GetType and UnsafeAccessorType.</param>
    /// <param name="Accessible">Nameable from generated code at the assembly level.</param>
    /// <param name="Generic">It, or a type containing it, is generic: the table is written inside it.</param>
    /// <param name="Namespace">Its namespace, empty for the global namespace.</param>
    /// <param name="Containers">Outermost first, the types containing it, then itself (for a generic type's partial parts).</param>
    /// <param name="SelfName">The type as written inside itself (with its type parameters).</param>
    /// <param name="Members">The entries to write.</param>
    /// <param name="Diagnostics">Errors to report; any error means no table.</param>
    internal sealed record TypeModel(
        string Key,
        string FullName,
        string RuntimeName,
        bool Accessible,
        bool Generic,
        string Namespace,
        EquatableArray<ContainerModel> Containers,
        string SelfName,
        EquatableArray<MemberModel> Members,
        EquatableArray<DiagnosticInfo> Diagnostics)
    {
        public bool HasErrors => Diagnostics.Count > 0;
    }
}
