"""An asyncio service: an AsyncHeartbeat for the service (pulsed by its loop, file work off
the event loop) and each batch reported as a job run with ``@hbmon.job``.

    python asyncio_service.py [--once]
"""

import asyncio
import sys

import hbmon


@hbmon.job("fetch-batch", interval="1m")
async def fetch_batch(n):
    await asyncio.sleep(0.01)  # stands in for awaiting an HTTP API or a database
    return 10 * n


async def main(once):
    async with hbmon.AsyncHeartbeat("async-service", interval=30) as hb:
        n = 0
        while True:
            n += 1
            rows = await fetch_batch(n)
            hb.set_data({"batches": n, "rows": rows})
            await hb.pulse()
            if once and n == 3:
                break
            await asyncio.sleep(0 if once else 60)
    print("async-service ran %d batches and stopped" % n)


if __name__ == "__main__":
    asyncio.run(main("--once" in sys.argv[1:]))
