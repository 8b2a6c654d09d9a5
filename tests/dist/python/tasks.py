"""The installed-wheel check's task: stem_sdk comes from the wheel, nothing else."""

from stem_sdk import run, task


@task("add")
def add(a, b):
    return a + b


if __name__ == "__main__":
    run()
