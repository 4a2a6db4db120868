"""`make bench`: run every benchmark and print its figures."""

from bench import bench_reads, bench_scheduler, bench_webui


def main() -> None:
    bench_scheduler.main()
    bench_webui.main()
    bench_reads.main()


if __name__ == "__main__":
    main()
