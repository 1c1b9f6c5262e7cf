"""Content hashes of media and of doxxed values, computed in memory and nothing else.

Both collectors (the Telethon one and the Scrapy spiders) hash media through this package, so a
photo seen through the API and through the t.me/s preview gets the same SHA-256, MD5 and PDQ.

Hard rule: media bytes exist only in memory while they are hashed and are dropped right after.
Nothing here opens a file, a temp file or a cache.

`media` hashes one file held in memory or streamed in chunks (SHA-256, MD5, and PDQ for
images); `images` decodes untrusted image bytes and computes PDQ; `keyed` normalizes phone
numbers and places and hashes them with the installation's key.
"""
