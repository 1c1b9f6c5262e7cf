"""The loopback peers as part of the product: what tests, benchmarks and `chanwatch demo` talk to.

- `telegram_dc`: a fake MTProto data centre on 127.0.0.1 that the unmodified Telethon client
  connects to (key exchange, AES-IGE framing, RPC errors, the methods the collector calls);
- `site`: a web site on 127.0.0.1 that serves t.me/s-shaped previews with the real markup's
  traps, ordinary pages, images, robots.txt, redirects and faults;
- `world`: a synthetic world of fictional rooms served by both, which changes between passes.

Nothing here reaches past loopback, and nothing here imports pytest or hypothesis: helpers that
need them live in tests/.
"""
