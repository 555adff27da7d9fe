using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GdNet.Server;

/// <summary>
/// Admission by HS256 JSON Web Token, validated with <c>Microsoft.IdentityModel.JsonWebTokens</c> (no hand-rolled
/// crypto). The token is <see cref="AdmissionRequest.Credential"/> (a WebSocket client's <c>?token=</c> or
/// <c>Authorization: Bearer</c>). Checks: the signature (HS256 with the shared key only), <c>exp</c> (required unless
/// <see cref="RequireExpiration"/> is off) and <c>nbf</c> with <see cref="ClockSkew"/>; a <c>room</c> claim, when
/// present, must equal the room joined (else <see cref="AdmissionRefusal.Forbidden"/>); <c>sub</c> becomes the peer's
/// name. Everything else is <see cref="AdmissionRefusal.Unauthorized"/>, with the reason for the log only.
/// </summary>
public sealed class JwtAdmission
{
    /// <summary>HS256 needs a key of at least 256 bits.</summary>
    public const int MinKeyBytes = 32;

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly TokenValidationParameters _parameters;

    /// <param name="key">The shared HS256 key (at least 32 bytes).</param>
    /// <exception cref="ArgumentException">The key is shorter than 32 bytes.</exception>
    public JwtAdmission(ReadOnlySpan<byte> key)
    {
        if (key.Length < MinKeyBytes)
        {
            throw new ArgumentException($"The JWT key must be at least {MinKeyBytes} bytes (256 bits) for HS256; it has {key.Length}. Generate one with e.g. `head -c 48 /dev/urandom | base64 > key`.", nameof(key));
        }

        _parameters = new TokenValidationParameters
        {
            IssuerSigningKey = new SymmetricSecurityKey(key.ToArray()),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>How far <c>exp</c> and <c>nbf</c> may be off (clocks differ). Default 30 s.</summary>
    public TimeSpan ClockSkew
    {
        get => _parameters.ClockSkew;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _parameters.ClockSkew = value;
        }
    }

    /// <summary>Whether tokens without <c>exp</c> are refused. Default true.</summary>
    public bool RequireExpiration
    {
        get => _parameters.RequireExpirationTime;
        init => _parameters.RequireExpirationTime = value;
    }

    /// <summary>Reads the key from a file: its bytes, without one trailing newline (<c>\n</c> or <c>\r\n</c>).</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ArgumentException">The key is shorter than 32 bytes.</exception>
    public static JwtAdmission FromKeyFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var n = bytes.Length;
        if (n > 0 && bytes[n - 1] == (byte)'\n')
        {
            n--;
            if (n > 0 && bytes[n - 1] == (byte)'\r')
            {
                n--;
            }
        }

        return new JwtAdmission(bytes.AsSpan(0, n));
    }

    /// <summary>The check as a hook for <see cref="RelayRouter.AddAdmissionHook"/>.</summary>
    public AdmissionHook Hook => CheckAsync;

    /// <summary>Validates the request's token.</summary>
    public async ValueTask<AdmissionDecision> CheckAsync(AdmissionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.Credential))
        {
            return AdmissionDecision.Refuse(AdmissionRefusal.Unauthorized, "no token");
        }

        TokenValidationResult result;
        try
        {
            result = await _handler.ValidateTokenAsync(request.Credential, _parameters).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            return AdmissionDecision.Refuse(AdmissionRefusal.Unauthorized, "malformed token: " + ex.GetType().Name);
        }

        if (!result.IsValid)
        {
            return AdmissionDecision.Refuse(AdmissionRefusal.Unauthorized, Describe(result.Exception));
        }

        var token = (JsonWebToken)result.SecurityToken;
        if (token.TryGetPayloadValue<string>("room", out var room) && !string.Equals(room, request.Room, StringComparison.Ordinal))
        {
            return AdmissionDecision.Refuse(AdmissionRefusal.Forbidden, $"token is for room {room}, not {request.Room}");
        }

        if (token.TryGetPayloadValue<object>("room", out var other) && other is not string && other is not null)
        {
            return AdmissionDecision.Refuse(AdmissionRefusal.Forbidden, "token's room claim is not a string");
        }

        return AdmissionDecision.Accept(string.IsNullOrEmpty(token.Subject) ? null : token.Subject);
    }

    private static string Describe(Exception? ex) => ex switch
    {
        SecurityTokenExpiredException => "token expired",
        SecurityTokenNotYetValidException => "token not valid yet (nbf in the future)",
        SecurityTokenNoExpirationException => "token has no exp",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "bad signature",
        SecurityTokenInvalidAlgorithmException => "algorithm not HS256",
        SecurityTokenMalformedException or ArgumentException => "malformed token",
        null => "invalid token",
        _ => "invalid token: " + ex.GetType().Name,
    };
}
