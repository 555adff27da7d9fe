using System.Net;

namespace GdNet.Server;

/// <summary>A list of networks (CIDR, e.g. <c>10.0.0.0/8,127.0.0.1/32</c>) that an address may belong to.</summary>
public sealed class AddressAllowList
{
    private readonly IPNetwork[] _networks;

    public AddressAllowList(IEnumerable<IPNetwork> networks) => _networks = [.. networks];

    /// <summary>The networks.</summary>
    public IReadOnlyList<IPNetwork> Networks => _networks;

    /// <summary>Parses a comma-separated list of CIDR networks (a bare address is a /32 or /128).</summary>
    /// <exception cref="FormatException">An entry is not a network; the message names it.</exception>
    public static AddressAllowList Parse(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var networks = new List<IPNetwork>();
        foreach (var raw in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (IPNetwork.TryParse(raw, out var net))
            {
                networks.Add(net);
            }
            else if (IPAddress.TryParse(raw, out var ip))
            {
                networks.Add(new IPNetwork(ip, ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                throw new FormatException($"\"{raw}\" is not a network in CIDR form (e.g. 10.0.0.0/8) or an IP address.");
            }
        }

        return new AddressAllowList(networks);
    }

    /// <summary>Whether <paramref name="address"/> (IPv4-mapped IPv6 counts as IPv4) is in one of the networks.</summary>
    public bool Contains(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var n in _networks)
        {
            if (n.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
