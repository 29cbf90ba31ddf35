"""Verifies Warden access tokens with PyJWT: one token per line on stdin, one JSON answer per line.

Run by test/interop/verifiers.test.ts with Debian's /usr/bin/python3 (package python3-jwt):
    verify_pyjwt.py JWKS_URL ISSUER AUDIENCE LIFESPAN_SECONDS
One PyJWKClient serves the whole run, so its JWKS cache stays warm between tokens, as in a service.
"""
import json
import sys

try:
    import jwt
except ImportError as err:
    sys.stderr.write(f"PyJWT is not installed for {sys.executable} ({err}): apt-get install -y python3-jwt\n")
    sys.exit(3)


def main():
    jwks_url, issuer, audience, lifespan = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    client = jwt.PyJWKClient(jwks_url, lifespan=lifespan)
    for line in sys.stdin:
        token = line.strip()
        try:
            key = client.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["ES256"],
                audience=audience,
                issuer=issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
            answer = {"ok": True, "sub": claims["sub"], "kid": key.key_id}
        except Exception as err:  # a refusal is an answer, not a crash
            answer = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        print(json.dumps(answer), flush=True)


main()
