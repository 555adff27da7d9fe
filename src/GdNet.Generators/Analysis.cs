using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GdNet.Generators;

/// <summary>Reads a node type's RPC declarations into a <see cref="TypeModel"/> (entries and errors).</summary>
internal static class Analysis
{
    public const string NodeName = "GdNet.Multiplayer.Node";
    public const string RpcAttributeName = "GdNet.Multiplayer.RpcAttribute";
    private const string Binder = "global::GdNet.Multiplayer.VariantBinder.";

    /// <summary>The attribute classes the generator looks for, and the RpcMode member each declares.</summary>
    public static readonly (string Attribute, string Mode)[] Attributes =
    [
        ("GdNet.Multiplayer.RemoteAttribute", "Remote"),
        ("GdNet.Multiplayer.RemoteSyncAttribute", "RemoteSync"),
        ("GdNet.Multiplayer.MasterAttribute", "Master"),
        ("GdNet.Multiplayer.MasterSyncAttribute", "MasterSync"),
        ("GdNet.Multiplayer.PuppetAttribute", "Puppet"),
        ("GdNet.Multiplayer.PuppetSyncAttribute", "PuppetSync"),
        ("GdNet.Multiplayer.SyncAttribute", "RemoteSync"),
        ("GdNet.Multiplayer.SlaveAttribute", "Puppet"),
    ];

    private static readonly Dictionary<string, string> VariantTypes = new()
    {
        ["Variant"] = "TryToVariant",
        ["NodePath"] = "TryToNodePath",
        ["Vector2"] = "TryToVector2",
        ["Rect2"] = "TryToRect2",
        ["Vector3"] = "TryToVector3",
        ["Transform2D"] = "TryToTransform2D",
        ["Plane"] = "TryToPlane",
        ["Quat"] = "TryToQuat",
        ["AABB"] = "TryToAABB",
        ["Basis"] = "TryToBasis",
        ["Transform"] = "TryToTransform",
        ["Color"] = "TryToColor",
        ["RID"] = "TryToRID",
        ["GodotObjectValue"] = "TryToObject",
        ["EncodedObjectAsId"] = "TryToEncodedObjectAsId",
        ["ObjectData"] = "TryToObjectData",
        ["VariantDictionary"] = "TryToDictionary",
        ["VariantArray"] = "TryToArray",
    };

    private static readonly Dictionary<string, string> ArrayTypes = new()
    {
        ["System.Byte"] = "TryToByteArray",
        ["System.Int32"] = "TryToIntArray",
        ["System.Single"] = "TryToRealArray",
        ["System.String"] = "TryToStringArray",
        ["GdNet.Variants.Vector2"] = "TryToVector2Array",
        ["GdNet.Variants.Vector3"] = "TryToVector3Array",
        ["GdNet.Variants.Color"] = "TryToColorArray",
    };

    private static readonly SymbolDisplayFormat Qualified = SymbolDisplayFormat.FullyQualifiedFormat
        .WithMiscellaneousOptions(SymbolDisplayFormat.FullyQualifiedFormat.MiscellaneousOptions | SymbolDisplayMiscellaneousOptions.UseSpecialTypes);

    /// <summary>The model of <paramref name="type"/>, or null when it is not a <c>Node</c> subclass.</summary>
    public static TypeModel? Analyze(INamedTypeSymbol type, Compilation compilation, CancellationToken cancel)
    {
        var node = compilation.GetTypeByMetadataName(NodeName);
        var rpcAttribute = compilation.GetTypeByMetadataName(RpcAttributeName);
        if (node is null || rpcAttribute is null || !DerivesFrom(type, node))
        {
            return null;
        }

        var diagnostics = new List<DiagnosticInfo>();
        var members = new List<MemberModel>();
        var generic = IsGeneric(type);
        var accessible = IsAccessible(type);
        var display = type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        var location = type.Locations.FirstOrDefault();

        if (generic && !AllPartial(type, cancel))
        {
            var nested = type.ContainingType is not null;
            diagnostics.Add(Info(
                Diagnostics.NotPartial,
                location,
                display,
                type.Arity > 0 ? string.Empty : " (nested in a generic type)",
                nested ? "it and the types that contain it" : "it"));
        }

        // Own members with an attribute, in declaration order; overrides without one come from the base table.
        var ownWire = new Dictionary<string, (string Clr, bool IsProperty)>[] { new(StringComparer.Ordinal), new(StringComparer.Ordinal) };
        var ownClr = new HashSet<string>[] { new(StringComparer.Ordinal), new(StringComparer.Ordinal) };
        foreach (var member in type.GetMembers())
        {
            cancel.ThrowIfCancellationRequested();
            var attrs = member.GetAttributes().Where(a => IsRpcAttribute(a.AttributeClass, rpcAttribute)).ToList();
            if (attrs.Count == 0 || member is not (IMethodSymbol or IPropertySymbol or IFieldSymbol))
            {
                continue;
            }

            var where = $"{type.Name}.{member.Name}";
            var memberLocation = member.Locations.FirstOrDefault();
            if (attrs.Count > 1)
            {
                diagnostics.Add(Info(Diagnostics.MultipleAttributes, memberLocation, where, attrs.Count.ToString(CultureInfo.InvariantCulture), string.Join(", ", attrs.Select(a => a.AttributeClass!.Name))));
                continue;
            }

            var attr = attrs[0];
            var mode = Attributes.FirstOrDefault(a => a.Attribute == attr.AttributeClass!.ToDisplayString()).Mode;
            if (mode is null)
            {
                continue;
            }

            var wireName = member.Name;
            foreach (var named in attr.NamedArguments)
            {
                if (named.Key == "Name" && named.Value.Value is string s)
                {
                    wireName = s;
                }
            }

            if (wireName.Length == 0 || wireName.IndexOf('\0') >= 0)
            {
                diagnostics.Add(Info(Diagnostics.InvalidWireName, memberLocation, where));
                continue;
            }

            if (member.IsStatic && member is not IFieldSymbol { IsConst: true })
            {
                diagnostics.Add(Info(Diagnostics.StaticOrGeneric, memberLocation, where, "static"));
                continue;
            }

            var model = member switch
            {
                IMethodSymbol m => Method(m, where, wireName, mode, type, accessible, generic, diagnostics),
                IPropertySymbol p => Property(p, where, wireName, mode, accessible, generic, diagnostics),
                IFieldSymbol f => Field(f, where, wireName, mode, accessible, generic, diagnostics),
                _ => null,
            };
            if (model is null)
            {
                continue;
            }

            var table = model.Kind == MemberKind.Method ? 0 : 1;
            if (!ownClr[table].Add(model.ClrName))
            {
                diagnostics.Add(Info(Diagnostics.Overloads, memberLocation, where));
                continue;
            }

            if (ownWire[table].TryGetValue(wireName, out var other))
            {
                diagnostics.Add(Info(Diagnostics.DuplicateWireName, memberLocation, $"{type.Name}.{other.Clr}", where, type.Name, wireName));
                continue;
            }

            ownWire[table][wireName] = (model.ClrName, table == 1);
            members.Add(model);
        }

        CheckInherited(type, node, rpcAttribute, ownWire, ownClr, diagnostics, cancel);

        return new TypeModel(
            Key: type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) + "`" + type.Arity.ToString(CultureInfo.InvariantCulture),
            FullName: generic ? OpenName(type) : type.ToDisplayString(Qualified),
            RuntimeName: RuntimeName(type) + ", " + compilation.AssemblyName,
            Accessible: accessible,
            Generic: generic,
            Namespace: type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : string.Empty,
            Containers: new EquatableArray<ContainerModel>([.. Containers(type)]),
            SelfName: SelfName(type),
            Members: new EquatableArray<MemberModel>([.. members]),
            Diagnostics: new EquatableArray<DiagnosticInfo>([.. diagnostics]));
    }

    private static MemberModel? Method(IMethodSymbol m, string where, string wireName, string mode, INamedTypeSymbol type, bool typeAccessible, bool generic, List<DiagnosticInfo> diagnostics)
    {
        var location = m.Locations.FirstOrDefault();
        if (m.MethodKind != MethodKind.Ordinary)
        {
            // Accessors, operators, constructors: not RPC methods (reflection skips them too, except as RpcConfig names).
            return null;
        }

        if (m.IsGenericMethod)
        {
            diagnostics.Add(Info(Diagnostics.StaticOrGeneric, location, where, "a generic method"));
            return null;
        }

        if (m.Parameters.Length > 255)
        {
            diagnostics.Add(Info(Diagnostics.TooManyParameters, location, where, m.Parameters.Length.ToString(CultureInfo.InvariantCulture)));
            return null;
        }

        var ok = true;
        var values = new List<ValueModel>();
        var required = 0;
        foreach (var p in m.Parameters)
        {
            var pLocation = p.Locations.FirstOrDefault() ?? location;
            if (p.RefKind != RefKind.None)
            {
                diagnostics.Add(Info(Diagnostics.ByRefParameter, pLocation, p.Name, where, p.RefKind.ToString().ToLowerInvariant()));
                ok = false;
                continue;
            }

            var convert = Converter(p.Type, generic, out var why);
            if (convert is null)
            {
                diagnostics.Add(Info(Diagnostics.UnsupportedType, pLocation, $"Parameter '{p.Name}' of RPC method '{where}'", p.Type.ToDisplayString(), why));
                ok = false;
                continue;
            }

            string? defaultValue = null;
            if (p.HasExplicitDefaultValue)
            {
                defaultValue = DefaultValue(p.Type, p.ExplicitDefaultValue);
            }
            else
            {
                required = values.Count + 1;
            }

            values.Add(new ValueModel(p.Type.ToDisplayString(Qualified), convert, defaultValue));
        }

        if (!ok)
        {
            return null;
        }

        var direct = generic || (typeAccessible && IsAccessible(m));
        var returnType = "void";
        if (!direct && !m.ReturnsVoid)
        {
            if (!IsAccessible(m.ReturnType) || m.ReturnType.TypeKind == TypeKind.TypeParameter)
            {
                diagnostics.Add(Info(Diagnostics.UnsupportedType, location, $"The return value of RPC method '{where}'", m.ReturnType.ToDisplayString(), " (it is not accessible from generated code, and neither is the method: make one of them internal or public)"));
                return null;
            }

            returnType = (m.ReturnsByRefReadonly ? "ref readonly " : m.ReturnsByRef ? "ref " : string.Empty) + m.ReturnType.ToDisplayString(Qualified);
        }

        return new MemberModel(MemberKind.Method, m.Name, Escape(m.Name), m.MetadataName, wireName, mode, direct, returnType, new EquatableArray<ValueModel>([.. values]), required);
    }

    private static MemberModel? Property(IPropertySymbol p, string where, string wireName, string mode, bool typeAccessible, bool generic, List<DiagnosticInfo> diagnostics)
    {
        var location = p.Locations.FirstOrDefault();
        var readOnly = p.IsIndexer ? "an indexer"
            : p.SetMethod is null ? "a property without a setter"
            : p.SetMethod.IsInitOnly ? "an init-only property"
            : null;
        if (readOnly is not null)
        {
            diagnostics.Add(Info(Diagnostics.ReadOnlyRset, location, where, readOnly));
            return null;
        }

        var convert = Converter(p.Type, generic, out var why);
        if (convert is null)
        {
            diagnostics.Add(Info(Diagnostics.UnsupportedType, location, $"Rset member '{where}'", p.Type.ToDisplayString(), why));
            return null;
        }

        var direct = generic || (typeAccessible && IsAccessible(p) && IsAccessible(p.SetMethod!));
        return new MemberModel(MemberKind.Property, p.Name, Escape(p.Name), p.SetMethod!.MetadataName, wireName, mode, direct, "void", new EquatableArray<ValueModel>([new ValueModel(p.Type.ToDisplayString(Qualified), convert, null)]), 1);
    }

    private static MemberModel? Field(IFieldSymbol f, string where, string wireName, string mode, bool typeAccessible, bool generic, List<DiagnosticInfo> diagnostics)
    {
        var location = f.Locations.FirstOrDefault();
        var readOnly = f.IsConst ? "a constant" : f.IsReadOnly ? "a readonly field" : null;
        if (readOnly is not null)
        {
            diagnostics.Add(Info(Diagnostics.ReadOnlyRset, location, where, readOnly));
            return null;
        }

        var convert = Converter(f.Type, generic, out var why);
        if (convert is null)
        {
            diagnostics.Add(Info(Diagnostics.UnsupportedType, location, $"Rset member '{where}'", f.Type.ToDisplayString(), why));
            return null;
        }

        var direct = generic || (typeAccessible && IsAccessible(f));
        return new MemberModel(MemberKind.Field, f.Name, Escape(f.Name), f.MetadataName, wireName, mode, direct, "void", new EquatableArray<ValueModel>([new ValueModel(f.Type.ToDisplayString(Qualified), convert, null)]), 1);
    }

    /// <summary>Reports an own member whose wire name an inherited, not hidden member already uses (the runtime merges the
    /// base type's table by the same rules and would throw).</summary>
    private static void CheckInherited(
        INamedTypeSymbol type,
        INamedTypeSymbol node,
        INamedTypeSymbol rpcAttribute,
        Dictionary<string, (string Clr, bool IsProperty)>[] ownWire,
        HashSet<string>[] ownClr,
        List<DiagnosticInfo> diagnostics,
        CancellationToken cancel)
    {
        var seenClr = new[] { new HashSet<string>(ownClr[0], StringComparer.Ordinal), new HashSet<string>(ownClr[1], StringComparer.Ordinal) };
        for (var t = type.BaseType; t is not null && !SymbolEqualityComparer.Default.Equals(t, node); t = t.BaseType)
        {
            foreach (var member in t.GetMembers())
            {
                cancel.ThrowIfCancellationRequested();
                if (member.IsStatic || member is not (IMethodSymbol { MethodKind: MethodKind.Ordinary } or IPropertySymbol or IFieldSymbol))
                {
                    continue;
                }

                var attr = member.GetAttributes().FirstOrDefault(a => IsRpcAttribute(a.AttributeClass, rpcAttribute));
                if (attr is null)
                {
                    continue;
                }

                var table = member is IMethodSymbol ? 0 : 1;
                if (!seenClr[table].Add(member.Name))
                {
                    continue;
                }

                var wire = attr.NamedArguments.FirstOrDefault(a => a.Key == "Name").Value.Value as string ?? member.Name;
                if (ownWire[table].TryGetValue(wire, out var own))
                {
                    var ownMember = type.GetMembers(own.Clr).FirstOrDefault();
                    diagnostics.Add(Info(Diagnostics.DuplicateWireName, ownMember?.Locations.FirstOrDefault(), $"{t.Name}.{member.Name}", $"{type.Name}.{own.Clr}", type.Name, wire));
                }
            }
        }
    }

    /// <summary>The converter call for <paramref name="type"/> ({0} the Variant, {1} the out variable), or null with the
    /// reason's tail in <paramref name="why"/>.</summary>
    public static string? Converter(ITypeSymbol type, bool insideType, out string why)
    {
        why = string.Empty;
        var group = ConverterGroup(type);
        if (group is not null)
        {
            if (!insideType && !IsAccessible(type))
            {
                why = " (the type is not accessible from generated code: make it internal or public)";
                return null;
            }

            return group + "({0}, out {1})";
        }

        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable
            && ConverterGroup(nullable.TypeArguments[0]) is { } inner)
        {
            if (!insideType && !IsAccessible(type))
            {
                why = " (the type is not accessible from generated code: make it internal or public)";
                return null;
            }

            return Binder + "TryToNullable({0}, out {1}, " + inner + ")";
        }

        if (type.TypeKind == TypeKind.TypeParameter)
        {
            why = " (a type parameter: the generator needs the concrete type)";
        }

        return null;
    }

    /// <summary>The method group <c>bool X(Variant, out T)</c> converting to <paramref name="type"/>, or null.</summary>
    private static string? ConverterGroup(ITypeSymbol type)
    {
        switch (type.SpecialType)
        {
            case SpecialType.System_Boolean: return Binder + "TryToBool";
            case SpecialType.System_SByte: return Binder + "TryToSByte";
            case SpecialType.System_Byte: return Binder + "TryToByte";
            case SpecialType.System_Int16: return Binder + "TryToInt16";
            case SpecialType.System_UInt16: return Binder + "TryToUInt16";
            case SpecialType.System_Int32: return Binder + "TryToInt32";
            case SpecialType.System_UInt32: return Binder + "TryToUInt32";
            case SpecialType.System_Int64: return Binder + "TryToInt64";
            case SpecialType.System_UInt64: return Binder + "TryToUInt64";
            case SpecialType.System_Single: return Binder + "TryToSingle";
            case SpecialType.System_Double: return Binder + "TryToDouble";
            case SpecialType.System_String: return Binder + "TryToString";
        }

        if (type.TypeKind == TypeKind.Enum)
        {
            return Binder + "TryToEnum<" + type.ToDisplayString(Qualified) + ">";
        }

        if (type is IArrayTypeSymbol { IsSZArray: true, ElementType: INamedTypeSymbol { ContainingNamespace: { } elementNs } element }
            && ArrayTypes.TryGetValue(elementNs.ToDisplayString() + "." + element.MetadataName, out var arrayConverter))
        {
            return Binder + arrayConverter;
        }

        if (type is INamedTypeSymbol { ContainingNamespace: { } ns, Arity: 0 } named
            && ns.ToDisplayString() == "GdNet.Variants"
            && VariantTypes.TryGetValue(named.Name, out var variantConverter))
        {
            return Binder + variantConverter;
        }

        return null;
    }

    /// <summary>A C# expression for a parameter's default value, exact for every supported type.</summary>
    public static string DefaultValue(ITypeSymbol type, object? value)
    {
        var t = type.ToDisplayString(Qualified);
        if (value is null)
        {
            return $"default({t})";
        }

        var underlying = type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } n ? n.TypeArguments[0] : type;
        string literal;
        switch (value)
        {
            case string s:
                return SymbolDisplay.FormatLiteral(s, quote: true);
            case bool b:
                return b ? "true" : "false";
            case float f:
                literal = $"global::System.BitConverter.Int32BitsToSingle({BitConverter.ToInt32(BitConverter.GetBytes(f), 0).ToString(CultureInfo.InvariantCulture)})";
                break;
            case double d:
                literal = $"global::System.BitConverter.Int64BitsToDouble({BitConverter.DoubleToInt64Bits(d).ToString(CultureInfo.InvariantCulture)}L)";
                break;
            case byte or ushort or uint or ulong:
                literal = Convert.ToUInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture) + "UL";
                break;
            case sbyte or short or int or long:
                literal = Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture) + "L";
                break;
            default:
                return $"default({t})";
        }

        if (underlying.TypeKind == TypeKind.Enum)
        {
            return $"unchecked(({t})({underlying.ToDisplayString(Qualified)})({literal}))";
        }

        return $"unchecked(({t})({literal}))";
    }

    private static bool IsRpcAttribute(INamedTypeSymbol? attribute, INamedTypeSymbol rpcAttribute)
    {
        for (var t = attribute; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t, rpcAttribute))
            {
                return true;
            }
        }

        return false;
    }

    private static bool DerivesFrom(INamedTypeSymbol type, INamedTypeSymbol baseType)
    {
        for (var t = type.BaseType; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t, baseType))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsGeneric(INamedTypeSymbol type)
    {
        for (var t = type; t is not null; t = t.ContainingType)
        {
            if (t.IsGenericType)
            {
                return true;
            }
        }

        return false;
    }

    private static bool AllPartial(INamedTypeSymbol type, CancellationToken cancel)
    {
        for (var t = type; t is not null; t = t.ContainingType)
        {
            var partial = t.DeclaringSyntaxReferences.Any(r =>
                r.GetSyntax(cancel) is Microsoft.CodeAnalysis.CSharp.Syntax.TypeDeclarationSyntax d
                && d.Modifiers.Any(SyntaxKind.PartialKeyword));
            if (!partial)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when code anywhere in the assembly can name <paramref name="symbol"/> (and, for a type, its type
    /// arguments and element types).</summary>
    public static bool IsAccessible(ISymbol symbol)
    {
        switch (symbol)
        {
            case IArrayTypeSymbol array:
                return IsAccessible(array.ElementType);
            case ITypeParameterSymbol:
                return false;
            case INamedTypeSymbol named when named.TypeArguments.Any(a => !IsAccessible(a)):
                return false;
        }

        for (var s = symbol; s is not null and not INamespaceSymbol; s = s.ContainingSymbol)
        {
            if (s.DeclaredAccessibility is Accessibility.Private or Accessibility.Protected or Accessibility.ProtectedAndInternal)
            {
                return false;
            }
        }

        return true;
    }

    private static string Escape(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

    /// <summary>The open generic form for typeof: <c>global::N.Outer&lt;&gt;.Inner&lt;,&gt;</c>.</summary>
    private static string OpenName(INamedTypeSymbol type)
    {
        var parts = new List<string>();
        for (var t = type; t is not null; t = t.ContainingType)
        {
            parts.Insert(0, t.Arity == 0 ? Escape(t.Name) : Escape(t.Name) + "<" + new string(',', t.Arity - 1) + ">");
        }

        var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() + "." : string.Empty;
        return "global::" + ns + string.Join(".", parts);
    }

    /// <summary>The CLR name: <c>N.Outer+Inner`1</c>.</summary>
    private static string RuntimeName(INamedTypeSymbol type)
    {
        var sb = new StringBuilder();
        var parts = new List<string>();
        for (var t = type; t is not null; t = t.ContainingType)
        {
            parts.Insert(0, t.MetadataName);
        }

        if (type.ContainingNamespace is { IsGlobalNamespace: false } ns)
        {
            sb.Append(ns.ToDisplayString()).Append('.');
        }

        return sb.Append(string.Join("+", parts)).ToString();
    }

    private static List<ContainerModel> Containers(INamedTypeSymbol type)
    {
        var list = new List<ContainerModel>();
        for (var t = type; t is not null; t = t.ContainingType)
        {
            var keyword = t.TypeKind switch
            {
                TypeKind.Struct => t.IsRecord ? "record struct" : "struct",
                TypeKind.Interface => "interface",
                _ => t.IsRecord ? "record" : "class",
            };
            list.Insert(0, new ContainerModel(keyword, SelfName(t)));
        }

        return list;
    }

    private static string SelfName(INamedTypeSymbol type) =>
        type.Arity == 0 ? Escape(type.Name) : Escape(type.Name) + "<" + string.Join(", ", type.TypeParameters.Select(p => Escape(p.Name))) + ">";

    private static DiagnosticInfo Info(DiagnosticDescriptor descriptor, Location? location, params string[] args) =>
        new(descriptor, location, new EquatableArray<string>(args));
}
