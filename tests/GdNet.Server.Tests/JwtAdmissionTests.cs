using System.Security.Claims;
using System.Text;
using GdNet.Server;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GdNet.Server.Tests;

/// <summary>HS256 tokens: each way a token can be wrong gives its refusal; the detail stays on the server.</summary>
public sealed class JwtAdmissionTests
{
    internal static readonly byte[] Key = Encoding.UTF8.GetBytes("0123456789abcdef0123456789abcdef-test-key");

    internal static string Token(byte[]? key = null, string? room = null, string? sub = "alice", DateTime? expires = null, DateTime? notBefore = null, bool noExpiry = false)
    {
        var claims = new Dictionary<string, object>();
        if (room is not null)
        {
            claims["room"] = room;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Subject = sub is null ? null : new ClaimsIdentity([new Claim("sub", sub)]),
            Claims = claims,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key ?? Key), SecurityAlgorithms.HmacSha256),
            IssuedAt = DateTime.UtcNow.AddMinutes(-10),
            NotBefore = notBefore ?? DateTime.UtcNow.AddMinutes(-10),
            Expires = noExpiry ? null : expires ?? DateTime.UtcNow.AddMinutes(10),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = !noExpiry }.CreateToken(descriptor);
    }

    private static async Task<AdmissionDecision> Check(string? token, string room = "lobby", JwtAdmission? jwt = null) =>
        await (jwt ?? new JwtAdmission(Key)).CheckAsync(new AdmissionRequest("ws", RouterKit.Loopback, room) { Credential = token });

    [Fact]
    public async Task A_valid_token_is_accepted_and_its_sub_names_the_peer()
    {
        var d = await Check(Token());
        Assert.True(d.IsAccepted, d.Detail);
        Assert.Equal("alice", d.Name);
    }

    [Fact]
    public async Task A_room_claim_must_match_the_room_joined()
    {
        Assert.True((await Check(Token(room: "lobby"))).IsAccepted);
        var wrong = await Check(Token(room: "other"));
        Assert.Equal(AdmissionRefusal.Forbidden, wrong.Refusal);
        Assert.Contains("other", wrong.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing", "no token")]
    [InlineData("garbage", "malformed")]
    [InlineData("bad signature", "bad signature")]
    [InlineData("expired", "expired")]
    [InlineData("not yet", "not valid yet")]
    [InlineData("no exp", "no exp")]
    public async Task Invalid_tokens_are_Unauthorized_with_the_reason_for_the_log(string what, string detail)
    {
        var token = what switch
        {
            "missing" => null,
            "garbage" => "not.a.jwt",
            "bad signature" => Token(key: Encoding.UTF8.GetBytes("another-key-another-key-another-key!!")),
            "expired" => Token(notBefore: DateTime.UtcNow.AddHours(-3), expires: DateTime.UtcNow.AddHours(-2)),
            "not yet" => Token(notBefore: DateTime.UtcNow.AddHours(1), expires: DateTime.UtcNow.AddHours(2)),
            "no exp" => Token(noExpiry: true),
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };

        var d = await Check(token);

        Assert.False(d.IsAccepted);
        Assert.Equal(AdmissionRefusal.Unauthorized, d.Refusal);
        Assert.Contains(detail, d.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_clock_skew_tolerates_a_token_that_just_expired()
    {
        var token = Token(notBefore: DateTime.UtcNow.AddMinutes(-5), expires: DateTime.UtcNow.AddSeconds(-5));
        Assert.True((await Check(token)).IsAccepted);
        Assert.False((await Check(token, jwt: new JwtAdmission(Key) { ClockSkew = TimeSpan.Zero })).IsAccepted);
    }

    [Fact]
    public async Task Tokens_signed_with_another_algorithm_are_refused()
    {
        var descriptor = new SecurityTokenDescriptor
        {
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey([.. Key, .. Key]), SecurityAlgorithms.HmacSha512),
            Expires = DateTime.UtcNow.AddMinutes(5),
        };
        var token = new JsonWebTokenHandler().CreateToken(descriptor);
        Assert.Equal(AdmissionRefusal.Unauthorized, (await Check(token)).Refusal);
    }

    [Fact]
    public void A_short_key_is_refused_with_a_way_to_make_a_good_one()
    {
        var ex = Assert.Throws<ArgumentException>(() => new JwtAdmission(new byte[16]));
        Assert.Contains("at least 32 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_key_file_is_read_without_its_trailing_newline()
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(path, [.. Key, (byte)'\n']);
            var d = await JwtAdmission.FromKeyFile(path).CheckAsync(new AdmissionRequest("ws", null, "lobby") { Credential = Token() });
            Assert.True(d.IsAccepted, d.Detail);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task As_a_router_hook_a_refused_token_never_reserves_a_slot()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        router.AddAdmissionHook(new JwtAdmission(Key).Hook);
        using var refused = await router.AdmitAsync(new AdmissionRequest("ws", RouterKit.Loopback, "lobby") { Credential = Token(room: "x") });
        Assert.Equal(AdmissionRefusal.Forbidden, refused.Refusal);
        Assert.Empty(router.Rooms);
        Assert.Equal(1, router.GetStatistics().Refusals["Forbidden"]);
    }

    [Fact]
    public void Allow_lists_parse_cidr_and_bare_addresses_and_match_mapped_ipv4()
    {
        var list = AddressAllowList.Parse("10.0.0.0/8, 127.0.0.1,::1");
        Assert.True(list.Contains(System.Net.IPAddress.Parse("10.2.3.4")));
        Assert.True(list.Contains(System.Net.IPAddress.Parse("127.0.0.1").MapToIPv6()));
        Assert.True(list.Contains(System.Net.IPAddress.IPv6Loopback));
        Assert.False(list.Contains(System.Net.IPAddress.Parse("192.168.1.1")));
        Assert.False(list.Contains(null));
        Assert.Contains("nope", Assert.Throws<FormatException>(() => AddressAllowList.Parse("nope")).Message, StringComparison.Ordinal);
    }
}
