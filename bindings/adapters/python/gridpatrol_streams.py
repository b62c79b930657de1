"""Screen watches as Python async iterators (shipped beside the generated bindings; see
bindings/README.md). ``async for home in today_updates(store)`` yields the screen now and again
each time the core's change events make it differ; leaving the loop stops watching."""


async def updates(watch):
    """The async iterator of a watch object's ``next()``."""
    while True:
        yield await watch.next()


def today_updates(store):
    return updates(store.watch_today())


def grid_updates(store, grid_id, query):
    return updates(store.watch_grid(grid_id, query))


def patrol_updates(store, patrol_id):
    return updates(store.watch_patrol(patrol_id))


def case_inbox_updates(store, case_filter):
    return updates(store.watch_case_inbox(case_filter))


def case_updates(store, case_id):
    return updates(store.watch_case(case_id))


def task_inbox_updates(store, include_closed=False):
    return updates(store.watch_task_inbox(include_closed))


def task_updates(store, task_id):
    return updates(store.watch_task(task_id))


def sync_status_updates(store):
    return updates(store.watch_sync_status())
