namespace GdNet.Variants;

/// <summary>
/// What an OBJECT variant holds. GdNet never instantiates remote objects: an object is either an
/// <see cref="EncodedObjectAsId"/> (the default encoding) or an <see cref="ObjectData"/> (class name and
/// stored properties, only when object decoding is allowed).
/// </summary>
public abstract class GodotObjectValue
{
    private protected GodotObjectValue() { }
}

/// <summary>Godot's <c>EncodedObjectAsID</c>: an object sent as its instance id (meaningless on another machine).</summary>
public sealed class EncodedObjectAsId(ulong objectId) : GodotObjectValue, IEquatable<EncodedObjectAsId>
{
    public ulong ObjectId { get; } = objectId;

    public bool Equals(EncodedObjectAsId? other) => other is not null && other.ObjectId == ObjectId;

    public override bool Equals(object? obj) => obj is EncodedObjectAsId o && Equals(o);

    public override int GetHashCode() => ObjectId.GetHashCode();

    public override string ToString() => $"[EncodedObjectAsID:{ObjectId}]";
}

/// <summary>
/// A full object as data: its class name and its stored properties in order. Decoded only when object decoding is
/// allowed, and never instantiated.
/// </summary>
public sealed class ObjectData : GodotObjectValue, IEquatable<ObjectData>
{
    public ObjectData(string className, IReadOnlyList<KeyValuePair<string, Variant>> properties)
    {
        ArgumentException.ThrowIfNullOrEmpty(className);
        ArgumentNullException.ThrowIfNull(properties);
        ClassName = className;
        Properties = properties;
    }

    public string ClassName { get; }

    public IReadOnlyList<KeyValuePair<string, Variant>> Properties { get; }

    public bool Equals(ObjectData? other)
    {
        if (other is null || other.ClassName != ClassName || other.Properties.Count != Properties.Count)
        {
            return false;
        }

        for (var i = 0; i < Properties.Count; i++)
        {
            if (Properties[i].Key != other.Properties[i].Key || !Properties[i].Value.Equals(other.Properties[i].Value))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is ObjectData o && Equals(o);

    /// <summary>A hash of the class name and every property (see <see cref="Variant.GetHashCode"/>).</summary>
    public override int GetHashCode() => Variant.FromObject(this).GetHashCode();

    public override string ToString() => $"[{ClassName}]";
}
