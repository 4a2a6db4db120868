"""`make bench`: run every benchmark and print its figures."""

from bench import (bench_farm, bench_http_handler, bench_idle, bench_reads, bench_scheduler, bench_submit,
                   bench_webui)


def main() -> None:
    bench_scheduler.main()
    bench_webui.main()
    bench_farm.main()
    bench_idle.main([])
    bench_reads.main()
    bench_submit.main()
    bench_http_handler.main([])


if __name__ == "__main__":
    main()
