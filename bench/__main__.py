"""`make bench`: run every benchmark and print its figures."""

from bench import bench_scheduler


def main() -> None:
    bench_scheduler.main()


if __name__ == "__main__":
    main()
