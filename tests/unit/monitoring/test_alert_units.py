from __future__ import annotations

from quantdesk.monitoring.alerts import TokenBucket
from quantdesk.monitoring.channels import sign


def test_token_bucket_burst_then_refill() -> None:
    t = [0.0]
    b = TokenBucket(rate_per_s=1.0, burst=2, clock=lambda: t[0])
    assert [b.take(), b.take(), b.take()] == [True, True, False]
    t[0] += 1.0
    assert b.take() and not b.take()


def test_hmac_signature_format() -> None:
    import hashlib
    import hmac

    assert sign(b"k", b"{}") == "sha256=" + hmac.new(b"k", b"{}", hashlib.sha256).hexdigest()
    assert sign(b"k", b"{}").startswith("sha256=") and len(sign(b"k", b"{}")) == 7 + 64
