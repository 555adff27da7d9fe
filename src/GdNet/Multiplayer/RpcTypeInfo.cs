using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Linq.Expressions;
using System.Reflection;
using System.Text;
using GdNet.Variants;

namespace GdNet.Multiplayer;

/// <summary>An RPC method or rset property of a node type: its names, declared mode and compiled invoker.</summary>
internal sealed class RpcMember
{
    public RpcMember(string wireName, string clrName, RpcMode mode, bool isProperty, string declaringTypeName)
    {
        WireName = wireName;
        ClrName = clrName;
        Mode = mode;
        IsProperty = isProperty;
        DeclaringTypeName = declaringTypeName;
        WireNameUtf8 = Encoding.UTF8.GetBytes(wireName);
    }

    public string WireName { get; }

    public string ClrName { get; }

    /// <summary>The attribute's mode (<see cref="RpcMode.Disabled"/> when the member has none: callable only via RpcConfig).</summary>
    public RpcMode Mode { get; }

    public bool IsProperty { get; }

    /// <summary>The name of the type that declares the member (for messages).</summary>
    public string DeclaringTypeName { get; }

    /// <summary>The wire name in UTF-8, without the NUL.</summary>
    public byte[] WireNameUtf8 { get; }

    public RpcInvoker? Invoke { get; init; }

    public RsetInvoker? Set { get; init; }

    public int RequiredCount { get; init; }

    public int ParameterCount { get; init; }

    public Type[] ParameterTypes { get; init; } = [];

    public override string ToString() => $"{DeclaringTypeName}.{ClrName} ('{WireName}', {Mode})";

    /// <summary>Checks a declared mode and wire name.</summary>
    /// <exception cref="InvalidOperationException">The mode is undefined, or the wire name empty or containing NUL.</exception>
    internal static void Check(RpcMode mode, string wireName, string where)
    {
        if (!RpcModeRules.IsDefined(mode))
        {
            throw new InvalidOperationException($"{where} has the undefined mode {(int)mode}.");
        }

        if (string.IsNullOrEmpty(wireName) || wireName.Contains('\0', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{where} has an empty wire name or one containing NUL.");
        }
    }
}

/// <summary>
/// The RPC dispatch table of one <see cref="Node"/> subclass, built once per type. Normally from the table that
/// GdNet.Generators wrote at compile time (<see cref="RpcRegistry"/>): the type's own members, then its base type's that
/// it does not hide (by C# name), no reflection. Types without a generated table fall back to reflection and compiled
/// expression trees (<see cref="RpcReflection"/>; not in trimmed or NativeAOT apps). Either way no reflection happens
/// per call. Members named by <c>RpcConfig</c>/<c>RsetConfig</c> without an attribute are added on first configuration
/// (by reflection). Thread-safe: readers see immutable snapshots.
/// </summary>
internal sealed class RpcTypeInfo
{
    private const BindingFlags DeclaredInstance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
    private static readonly ConcurrentDictionary<Type, RpcTypeInfo> Cache = new();
    private readonly Lock _gate = new();
    private volatile Tables _methods;
    private volatile Tables _properties;

    private sealed class Tables
    {
        public static readonly Tables Empty = new(new(StringComparer.Ordinal), new(StringComparer.Ordinal));

        public Tables(Dictionary<string, RpcMember> byWire, Dictionary<string, RpcMember> byClr)
        {
            ByWire = byWire;
            ByClr = byClr;
            ByWireSpan = byWire.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public Dictionary<string, RpcMember> ByWire { get; }

        public Dictionary<string, RpcMember> ByClr { get; }

        public Dictionary<string, RpcMember>.AlternateLookup<ReadOnlySpan<char>> ByWireSpan { get; }
    }

    private RpcTypeInfo(Type type, Tables methods, Tables properties, bool isGenerated)
    {
        Type = type;
        _methods = DeclaredMethods = methods;
        _properties = DeclaredProperties = properties;
        IsGenerated = isGenerated;
    }

    public Type Type { get; }

    /// <summary>True when the table comes from generated code (for this type or, when it declares nothing, its base),
    /// false when reflection built it.</summary>
    public bool IsGenerated { get; }

    /// <summary>The declared members, without those added later by RpcConfig/RsetConfig (derived types start from these).</summary>
    private Tables DeclaredMethods { get; }

    private Tables DeclaredProperties { get; }

    /// <summary>The table of <paramref name="type"/>; the first call per type builds it.</summary>
    /// <exception cref="InvalidOperationException">A declared RPC member cannot be used (unsupported parameter type,
    /// static, generic, by-ref parameters, read-only field, duplicate wire name), or the type has no generated table and
    /// reflection is not available (trimmed or NativeAOT app).</exception>
    public static RpcTypeInfo For(Type type) => Cache.TryGetValue(type, out var info) ? info : Cache.GetOrAdd(type, Create);

    private static RpcTypeInfo Create(Type type)
    {
        if (type == typeof(Node) || type.BaseType is not { } baseType)
        {
            return new RpcTypeInfo(type, Tables.Empty, Tables.Empty, isGenerated: true);
        }

        var entry = RpcRegistry.Find(type);
        if (entry?.Build is { } build)
        {
            return FromGenerated(type, build, For(baseType));
        }

        if (entry is null && RpcRegistry.IsGenerated(type.Assembly))
        {
            // Compiled with the generator and no table: the type declares no RPC member of its own.
            var inherited = For(baseType);
            return new RpcTypeInfo(type, inherited.DeclaredMethods, inherited.DeclaredProperties, inherited.IsGenerated);
        }

        if (RpcReflection.IsSupported)
        {
            return FromReflection(type);
        }

        throw new InvalidOperationException(entry?.InvalidReason is { } ids
            ? $"{type.FullName} declares RPC members that GdNet.Generators rejected ({ids}); fix the errors the build reported for it."
            : entry?.IsGenericDefinition == true
                ? $"{type.FullName} is a generic node type whose RPC table did not register; declare it (and its containing types) partial so GdNet.Generators can write the table into it."
                : $"{type.FullName} has no RPC table generated at compile time, and this trimmed or NativeAOT app cannot build one by reflection; compile its assembly ({type.Assembly.GetName().Name}) with the GdNet.Generators analyzer (C#, part of the GdNet package).");
    }

    private static RpcTypeInfo FromGenerated(Type type, Action<RpcTableBuilder> build, RpcTypeInfo inherited)
    {
        var builder = new RpcTableBuilder(type);
        build(builder);
        return new RpcTypeInfo(
            type,
            Merge(builder.Methods, inherited.DeclaredMethods),
            Merge(builder.Properties, inherited.DeclaredProperties),
            isGenerated: true);
    }

    /// <summary>The type's own members, then the inherited ones it does not hide by C# name (as reflection walks from the
    /// most derived type up).</summary>
    private static Tables Merge(List<RpcMember> own, Tables inherited)
    {
        if (own.Count == 0)
        {
            return inherited;
        }

        var byWire = new Dictionary<string, RpcMember>(StringComparer.Ordinal);
        var byClr = new Dictionary<string, RpcMember>(StringComparer.Ordinal);
        foreach (var member in own)
        {
            if (!byClr.ContainsKey(member.ClrName))
            {
                Add(byWire, byClr, member);
            }
        }

        // Inherited members in their table's order; one hidden by an own member of the same C# name is left out.
        foreach (var member in inherited.ByClr.Values)
        {
            if (!byClr.ContainsKey(member.ClrName))
            {
                Add(byWire, byClr, member);
            }
        }

        return new Tables(byWire, byClr);
    }

    /// <summary>Builds the table of <paramref name="type"/> by reflection (the fallback; tests compare it with the generated one).</summary>
    [RequiresUnreferencedCode(RpcReflection.Message)]
    [RequiresDynamicCode(RpcReflection.Message)]
    internal static RpcTypeInfo FromReflection(Type type)
    {
        var methodsByWire = new Dictionary<string, RpcMember>(StringComparer.Ordinal);
        var methodsByClr = new Dictionary<string, RpcMember>(StringComparer.Ordinal);
        var propsByWire = new Dictionary<string, RpcMember>(StringComparer.Ordinal);
        var propsByClr = new Dictionary<string, RpcMember>(StringComparer.Ordinal);

        // Most derived first, so an override (which inherits the attribute) hides the base declaration.
        for (var t = type; t is not null && t != typeof(Node) && t != typeof(object); t = t.BaseType)
        {
            foreach (var m in t.GetMethods(DeclaredInstance))
            {
                if (m.GetCustomAttribute<RpcAttribute>(inherit: true) is { } attr && !methodsByClr.ContainsKey(m.Name))
                {
                    Add(methodsByWire, methodsByClr, BuildMethod(type, m, attr.Name ?? m.Name, attr.Mode));
                }
            }

            foreach (var p in t.GetProperties(DeclaredInstance))
            {
                if (p.GetCustomAttribute<RpcAttribute>(inherit: true) is { } attr && !propsByClr.ContainsKey(p.Name))
                {
                    Add(propsByWire, propsByClr, BuildProperty(type, p, attr.Name ?? p.Name, attr.Mode));
                }
            }

            foreach (var f in t.GetFields(DeclaredInstance))
            {
                if (f.GetCustomAttribute<RpcAttribute>(inherit: true) is { } attr && !propsByClr.ContainsKey(f.Name))
                {
                    Add(propsByWire, propsByClr, BuildProperty(type, f, attr.Name ?? f.Name, attr.Mode));
                }
            }
        }

        return new RpcTypeInfo(type, new Tables(methodsByWire, methodsByClr), new Tables(propsByWire, propsByClr), isGenerated: false);
    }

    /// <summary>The methods, in table order (tests).</summary>
    internal IEnumerable<RpcMember> Methods => _methods.ByWire.Values;

    /// <summary>The properties and fields, in table order (tests).</summary>
    internal IEnumerable<RpcMember> Properties => _properties.ByWire.Values;

    /// <summary>Tests: makes <paramref name="info"/> the table of <paramref name="type"/> for nodes created from now on, or
    /// with null forgets it (the next node builds it again).</summary>
    internal static void ReplaceForTests(Type type, RpcTypeInfo? info)
    {
        if (info is null)
        {
            Cache.TryRemove(type, out _);
        }
        else
        {
            Cache[type] = info;
        }
    }

    /// <summary>Finds a method by its wire name (receiving side).</summary>
    public RpcMember? FindMethodByWireName(ReadOnlySpan<char> wireName) =>
        _methods.ByWireSpan.TryGetValue(wireName, out var m) ? m : null;

    /// <summary>Finds a property or field by its wire name (receiving side).</summary>
    public RpcMember? FindPropertyByWireName(ReadOnlySpan<char> wireName) =>
        _properties.ByWireSpan.TryGetValue(wireName, out var m) ? m : null;

    /// <summary>The wire names and C# names of the RPC methods (or, with <paramref name="properties"/>, the rset members), for hints.</summary>
    public IEnumerable<string> MemberNames(bool properties)
    {
        var t = properties ? _properties : _methods;
        return t.ByWire.Keys.Concat(t.ByClr.Keys).Distinct(StringComparer.Ordinal);
    }

    /// <summary>Finds a method by wire name, else by C# name (sending side).</summary>
    public RpcMember? FindMethod(string name)
    {
        var t = _methods;
        return t.ByWire.TryGetValue(name, out var m) || t.ByClr.TryGetValue(name, out m) ? m : null;
    }

    /// <summary>Finds a property by wire name, else by C# name (sending side).</summary>
    public RpcMember? FindProperty(string name)
    {
        var t = _properties;
        return t.ByWire.TryGetValue(name, out var m) || t.ByClr.TryGetValue(name, out m) ? m : null;
    }

    /// <summary>The method for <c>RpcConfig</c>: a declared one, else an instance method of that C# name added now
    /// (by reflection: not in trimmed or NativeAOT apps, where only declared methods can be configured).</summary>
    /// <exception cref="ArgumentException">No usable method has that name.</exception>
    public RpcMember GetOrAddMethod(string name)
    {
        if (FindMethod(name) is { } found)
        {
            return found;
        }

        if (!RpcReflection.IsSupported)
        {
            throw new ArgumentException($"{Type.Name} has no RPC method named '{name}'. In a trimmed or NativeAOT app RpcConfig can only change the mode of a method declared with an RPC attribute ([Remote], [Master], …); give '{name}' one.", nameof(name));
        }

        lock (_gate)
        {
            if (FindMethod(name) is { } again)
            {
                return again;
            }

            var member = ReflectMethodForConfig(name);
            _methods = Publish(_methods, member);
            return member;
        }
    }

    /// <summary>The property for <c>RsetConfig</c>: a declared one, else a property or field of that C# name added now
    /// (by reflection, as <see cref="GetOrAddMethod"/>).</summary>
    /// <exception cref="ArgumentException">No settable property or field has that name.</exception>
    public RpcMember GetOrAddProperty(string name)
    {
        if (FindProperty(name) is { } found)
        {
            return found;
        }

        if (!RpcReflection.IsSupported)
        {
            throw new ArgumentException($"{Type.Name} has no rset property or field named '{name}'. In a trimmed or NativeAOT app RsetConfig can only change the mode of a member declared with an RPC attribute ([Remote], [Puppet], …); give '{name}' one.", nameof(name));
        }

        lock (_gate)
        {
            if (FindProperty(name) is { } again)
            {
                return again;
            }

            var member = ReflectPropertyForConfig(name);
            _properties = Publish(_properties, member);
            return member;
        }
    }

    [RequiresUnreferencedCode(RpcReflection.Message)]
    [RequiresDynamicCode(RpcReflection.Message)]
    private RpcMember ReflectMethodForConfig(string name)
    {
        var candidates = AllInstanceMethods(Type).Where(m => m.Name == name && !m.IsSpecialName).ToList();
        if (candidates.Count == 0)
        {
            throw new ArgumentException($"{Type.Name} has no instance method named '{name}'; RpcConfig needs an existing method (wire names are case-sensitive).", nameof(name));
        }

        if (candidates.Count > 1)
        {
            throw new ArgumentException($"{Type.Name} has {candidates.Count} overloads of '{name}'; give the one to call an RPC attribute, or rename the others.", nameof(name));
        }

        return BuildMethod(Type, candidates[0], name, RpcMode.Disabled);
    }

    [RequiresUnreferencedCode(RpcReflection.Message)]
    [RequiresDynamicCode(RpcReflection.Message)]
    private RpcMember ReflectPropertyForConfig(string name)
    {
        MemberInfo? target = null;
        for (var t = Type; t is not null && t != typeof(Node) && target is null; t = t.BaseType)
        {
            target = (MemberInfo?)t.GetProperty(name, DeclaredInstance) ?? t.GetField(name, DeclaredInstance);
        }

        if (target is null)
        {
            throw new ArgumentException($"{Type.Name} has no property or field named '{name}'; RsetConfig needs an existing member (wire names are case-sensitive).", nameof(name));
        }

        return BuildProperty(Type, target, name, RpcMode.Disabled);
    }

    private static Tables Publish(Tables old, RpcMember member)
    {
        var byWire = new Dictionary<string, RpcMember>(old.ByWire, StringComparer.Ordinal);
        var byClr = new Dictionary<string, RpcMember>(old.ByClr, StringComparer.Ordinal);
        Add(byWire, byClr, member);
        return new Tables(byWire, byClr);
    }

    [RequiresUnreferencedCode(RpcReflection.Message)]
    private static IEnumerable<MethodInfo> AllInstanceMethods(Type type)
    {
        var seen = new HashSet<RuntimeMethodHandle>();
        for (var t = type; t is not null && t != typeof(Node) && t != typeof(object); t = t.BaseType)
        {
            foreach (var m in t.GetMethods(DeclaredInstance))
            {
                // A derived override and its base declaration are one method.
                if (seen.Add(m.GetBaseDefinition().MethodHandle))
                {
                    yield return m;
                }
            }
        }
    }

    private static void Add(Dictionary<string, RpcMember> byWire, Dictionary<string, RpcMember> byClr, RpcMember member)
    {
        if (byWire.TryGetValue(member.WireName, out var other))
        {
            throw new InvalidOperationException($"{other} and {member} use the same wire name '{member.WireName}'; give one of them another Name.");
        }

        byWire.Add(member.WireName, member);
        byClr.TryAdd(member.ClrName, member);
    }

    [RequiresUnreferencedCode(RpcReflection.Message)]
    [RequiresDynamicCode(RpcReflection.Message)]
    private static RpcMember BuildMethod(Type nodeType, MethodInfo method, string wireName, RpcMode mode)
    {
        var where = $"RPC method {method.DeclaringType?.Name}.{method.Name}";
        RpcMember.Check(mode, wireName, where);
        if (method.IsStatic || method.IsGenericMethodDefinition || method.ContainsGenericParameters)
        {
            throw new InvalidOperationException($"{where} must be a non-generic instance method.");
        }

        var parameters = method.GetParameters();
        if (parameters.Length > 255)
        {
            throw new InvalidOperationException($"{where} has {parameters.Length} parameters; an RPC carries at most 255 arguments.");
        }

        var node = Expression.Parameter(typeof(Node), "node");
        var args = Expression.Parameter(typeof(Variant[]), "args");
        var count = Expression.Parameter(typeof(int), "count");
        var ret = Expression.Label(typeof(int), "ret");
        var locals = new ParameterExpression[parameters.Length];
        var body = new List<Expression>();
        var required = 0;
        for (var i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            if (p.ParameterType.IsByRef || p.IsOut)
            {
                throw new InvalidOperationException($"{where}: parameter '{p.Name}' is passed by reference; RPC parameters must be passed by value.");
            }

            var converter = VariantBinder.GetConverterMethod(p.ParameterType)
                ?? throw new InvalidOperationException($"{where}: parameter '{p.Name}' has type {p.ParameterType.Name}, which a Variant cannot bind to; use a Godot type (int, long, float, double, bool, string, Vector2, …, VariantArray, VariantDictionary) or Variant.");
            locals[i] = Expression.Variable(p.ParameterType, p.Name);
            var bind = Expression.IfThen(
                Expression.Not(Expression.Call(converter, Expression.ArrayIndex(args, Expression.Constant(i)), locals[i])),
                Expression.Return(ret, Expression.Constant(i)));
            if (p.HasDefaultValue)
            {
                body.Add(Expression.IfThenElse(
                    Expression.GreaterThan(count, Expression.Constant(i)),
                    bind,
                    Expression.Assign(locals[i], DefaultValue(p))));
            }
            else
            {
                required = i + 1;
                body.Add(bind);
            }
        }

        body.Add(Expression.Call(Expression.Convert(node, nodeType), method, locals));
        body.Add(Expression.Label(ret, Expression.Constant(-1)));
        var lambda = Expression.Lambda<RpcInvoker>(Expression.Block(typeof(int), locals, body), node, args, count);
        return new RpcMember(wireName, method.Name, mode, isProperty: false, method.DeclaringType?.Name ?? nodeType.Name)
        {
            Invoke = lambda.Compile(),
            RequiredCount = required,
            ParameterCount = parameters.Length,
            ParameterTypes = [.. parameters.Select(p => p.ParameterType)],
        };
    }

    [RequiresDynamicCode(RpcReflection.Message)]
    private static Expression DefaultValue(ParameterInfo p)
    {
        var type = p.ParameterType;
        var value = p.DefaultValue;
        if (value is null || value == DBNull.Value || value == Missing.Value)
        {
            return Expression.Default(type);
        }

        if (type.IsEnum)
        {
            return Expression.Constant(Enum.ToObject(type, value), type);
        }

        var inner = Nullable.GetUnderlyingType(type);
        if (inner is not null)
        {
            return Expression.Convert(Expression.Constant(inner.IsEnum ? Enum.ToObject(inner, value) : value, inner), type);
        }

        return Expression.Constant(value, type);
    }

    [RequiresUnreferencedCode(RpcReflection.Message)]
    [RequiresDynamicCode(RpcReflection.Message)]
    private static RpcMember BuildProperty(Type nodeType, MemberInfo member, string wireName, RpcMode mode)
    {
        var where = $"rset member {member.DeclaringType?.Name}.{member.Name}";
        RpcMember.Check(mode, wireName, where);
        Type type;
        switch (member)
        {
            case PropertyInfo p:
                if (p.SetMethod is null || p.GetIndexParameters().Length != 0 || p.SetMethod.IsStatic)
                {
                    throw new InvalidOperationException($"{where} must be a settable, non-indexed instance property.");
                }

                type = p.PropertyType;
                break;
            case FieldInfo f:
                if (f.IsInitOnly || f.IsLiteral || f.IsStatic)
                {
                    throw new InvalidOperationException($"{where} must be a writable instance field (not readonly, const or static).");
                }

                type = f.FieldType;
                break;
            default:
                throw new InvalidOperationException($"{where} is neither a property nor a field.");
        }

        var converter = VariantBinder.GetConverterMethod(type)
            ?? throw new InvalidOperationException($"{where} has type {type.Name}, which a Variant cannot bind to; use a Godot type or Variant.");
        var node = Expression.Parameter(typeof(Node), "node");
        var value = Expression.Parameter(typeof(Variant), "value");
        var local = Expression.Variable(type, "converted");
        var target = Expression.MakeMemberAccess(Expression.Convert(node, nodeType), member);
        var body = Expression.Condition(
            Expression.Call(converter, value, local),
            Expression.Block(Expression.Assign(target, local), Expression.Constant(true)),
            Expression.Constant(false));
        var lambda = Expression.Lambda<RsetInvoker>(Expression.Block(typeof(bool), [local], body), node, value);
        return new RpcMember(wireName, member.Name, mode, isProperty: true, member.DeclaringType?.Name ?? nodeType.Name)
        {
            Set = lambda.Compile(),
            RequiredCount = 1,
            ParameterCount = 1,
            ParameterTypes = [type],
        };
    }
}
