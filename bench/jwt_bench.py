"""JWT sign/verify throughput: ours (protocols.jose) vs the raw ``cryptography`` primitive vs pyjwt.

Run on demand (never in CI timing assertions):  .venv/bin/python bench/jwt_bench.py [--rounds N]

For each algorithm it signs RFC 9068 access tokens and verifies them with the full access-token
profile (structure, header rules, kid lookup, signature, typ, every claim check), and measures the
raw ``cryptography`` sign/verify of the very same signing-input bytes with the same key objects —
the limit any JWT layer can reach. Each round times every variant back to back; the table reports
the median rate over the rounds and the median of the per-round ratios (machines are noisy).
The pyjwt columns are a peer: ``jwt.encode`` and ``jwt.decode`` with its own claim checks.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jwt as pyjwt  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature  # noqa: E402

from protocols.entropy import SeededEntropy  # noqa: E402
from protocols.jose.encoding import b64url_decode  # noqa: E402
from protocols.jose.jwks import JwkSet  # noqa: E402
from protocols.jose.jwt import TokenProfile, sign_jwt, verify_jwt  # noqa: E402
from protocols.jose.keys import Algorithm, KeyRing, SigningKey  # noqa: E402

NOW = 1_736_150_400  # 2025-01-06T08:00:00Z, the default world epoch
ISSUER = "https://as.trustbench.example"
AUDIENCE = "https://mcp.crm.trustbench.example"
POOL = 256  # distinct tokens per algorithm (distinct jti), cycled through during a timing


def _claims(i: int) -> dict[str, object]:
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "user:alice@acme.example", "client_id": "agent-sales-7",
            "iat": NOW, "exp": NOW + 300, "jti": f"at-{i:08d}-5f2c9a", "scope": "crm.read crm.write",
            "act": {"sub": "agent-sales-7"}}


def _rate(fn: Callable[[int], object], *, seconds: float) -> float:
    """Operations per second of ``fn(i)`` over at least ``seconds`` (batches of POOL calls).

    Like ``timeit``, the cyclic garbage collector is paused while timing (and run just before).
    """
    gc.collect()
    gc.disable()
    try:
        return _timed(fn, seconds=seconds)
    finally:
        gc.enable()


def _timed(fn: Callable[[int], object], *, seconds: float) -> float:
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for i in range(POOL):
            fn(i)
        done += POOL
        elapsed = time.perf_counter() - start
        if time.perf_counter() >= deadline:
            return done / elapsed


Row = tuple[str, str, float, float, float, float, float]


def _bench_alg(alg: Algorithm, *, rounds: int, seconds: float) -> list[Row]:
    key = SigningKey.generate(alg=alg, entropy=SeededEntropy.for_actor(run_seed=7, actor=f"bench-{alg.value}"),
                              created_at=NOW)
    keys = JwkSet.from_ring(KeyRing.start(key), now=NOW)
    profile = TokenProfile.access_token(issuer=ISSUER, audience=AUDIENCE)
    claims = [_claims(i) for i in range(POOL)]
    tokens = [sign_jwt(claims=c, key=key, typ="at+jwt") for c in claims]
    inputs = [t.rsplit(".", 1)[0].encode("ascii") for t in tokens]
    signatures = [b64url_decode(t.rsplit(".", 1)[1]) for t in tokens]
    private, public = key.private_key, key.public_key()
    sha256 = hashes.SHA256()
    pkcs1 = padding.PKCS1v15()
    from protocols.jose.keys import _ECDSA_SIGN  # the same (RFC 6979 when available) signer
    ecdsa_verify = ec.ECDSA(sha256)

    if alg is Algorithm.ES256:
        der = [encode_dss_signature(int.from_bytes(s[:32], "big"), int.from_bytes(s[32:], "big"))
               for s in signatures]
        raw_sign = lambda i: private.sign(inputs[i], _ECDSA_SIGN)  # noqa: E731
        raw_verify = lambda i: public.verify(der[i], inputs[i], ecdsa_verify)  # noqa: E731
    elif alg is Algorithm.RS256:
        raw_sign = lambda i: private.sign(inputs[i], pkcs1, sha256)  # noqa: E731
        raw_verify = lambda i: public.verify(signatures[i], inputs[i], pkcs1, sha256)  # noqa: E731
    else:
        raw_sign = lambda i: private.sign(inputs[i])  # noqa: E731
        raw_verify = lambda i: public.verify(signatures[i], inputs[i])  # noqa: E731

    ours_sign = lambda i: sign_jwt(claims=claims[i], key=key, typ="at+jwt")  # noqa: E731
    ours_verify = lambda i: verify_jwt(tokens[i], keys=keys, profile=profile, now=NOW)  # noqa: E731
    headers = {"kid": key.kid, "typ": "at+jwt"}
    peer = pyjwt.PyJWT(options={"verify_iat": True})
    peer_sign = lambda i: pyjwt.encode(claims[i], private, algorithm=alg.value, headers=headers)  # noqa: E731
    peer_verify = lambda i: peer.decode(tokens[i], public, algorithms=[alg.value], audience=AUDIENCE,  # noqa: E731
                                        issuer=ISSUER, leeway=30,
                                        options={"require": ["exp", "iat", "sub", "jti"], "verify_exp": False})

    # Sanity: every variant accepts what the others produce.
    for i in (0, 1):
        ours_verify(i)
        raw_verify(i)
        peer_verify(i)

    rows = []
    for op, ours, raw, peer_fn in (("sign", ours_sign, raw_sign, peer_sign),
                                   ("verify", ours_verify, raw_verify, peer_verify)):
        ours_rates, raw_rates, peer_rates, ratios, peer_ratios = [], [], [], [], []
        for _ in range(rounds):
            r = _rate(raw, seconds=seconds)
            o = _rate(ours, seconds=seconds)
            p = _rate(peer_fn, seconds=seconds)
            raw_rates.append(r)
            ours_rates.append(o)
            peer_rates.append(p)
            ratios.append(o / r)
            peer_ratios.append(o / p)
        rows.append((alg.value, op, statistics.median(ours_rates), statistics.median(raw_rates),
                     statistics.median(ratios), statistics.median(peer_rates), statistics.median(peer_ratios)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds per variant (median reported)")
    parser.add_argument("--seconds", type=float, default=0.25, help="minimum seconds per timing")
    args = parser.parse_args(argv)
    rows = []
    for alg in (Algorithm.ES256, Algorithm.RS256, Algorithm.EdDSA):
        rows.extend(_bench_alg(alg, rounds=args.rounds, seconds=args.seconds))
    print(f"JWT throughput, median of {args.rounds} rounds x >= {args.seconds:.2f} s "
          f"(access-token profile, {POOL} distinct tokens)")
    print(f"{'alg':6} {'op':6} {'ours/s':>10} {'raw/s':>10} {'ours/raw':>9} {'pyjwt/s':>10} {'ours/pyjwt':>11}")
    for alg, op, ours, raw, ratio, peer, peer_ratio in rows:
        print(f"{alg:6} {op:6} {ours:10.0f} {raw:10.0f} {ratio:9.1%} {peer:10.0f} {peer_ratio:10.2f}x")
    verify_ratios = [ratio for _, op, _, _, ratio, _, _ in rows if op == "verify"]
    target = 0.70
    verdict = "meets" if min(verify_ratios) >= target else "MISSES"
    print(f"verify path {verdict} the target (ours >= {target:.0%} of raw) — worst {min(verify_ratios):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
