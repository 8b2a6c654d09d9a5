"""A resume's journal: which recorded entry (if any) answers each call the workflow's code
makes, and the index the call goes by. Under one version the calls are numbered in order
and an entry with another name at a call's index is `Nondeterminism`; when the run started
under another version, entries match by name (the first unused one) and new calls take the
indexes after the journal's last."""

from typing import Any, Dict, List, Optional, Set, Tuple

from .errors import Nondeterminism

Entry = Dict[str, Any]


def check_entries(journal: Any) -> Optional[str]:
    """Why `journal` is not a list of entries the SDK can follow, or None."""
    if not isinstance(journal, list):
        return "workflow.journal must be an array"
    seen: Set[int] = set()
    for i, entry in enumerate(journal):
        if not isinstance(entry, dict):
            return "workflow.journal[%d] must be an object" % i
        index = entry.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            return "workflow.journal[%d].index must be a non-negative integer" % i
        if index in seen:
            return "workflow.journal[%d]: index %d appears twice" % (i, index)
        seen.add(index)
        if not isinstance(entry.get("name"), str) or not isinstance(entry.get("state"), str):
            return "workflow.journal[%d] needs a name and a state" % i
    return None


class Journal:
    """Hands out `(index, entry)` to the calls of one replay, in the order they are made."""

    def __init__(self, entries: List[Entry], by_name: bool) -> None:
        self.by_name = by_name
        self._entries = sorted(entries, key=lambda e: int(e["index"]))
        self._by_index = {int(e["index"]): e for e in self._entries}
        self._used: Set[int] = set()
        # Same version: the next call's index. By name: the next index of a call the journal
        # has no entry for (after the journal's last).
        self._next = 0 if not by_name else (self._entries[-1]["index"] + 1 if self._entries else 0)

    def claim(self, name: str) -> Tuple[int, Optional[Entry]]:
        """The index of the call named `name` and its recorded entry, if any."""
        if self.by_name:
            for entry in self._entries:
                index = int(entry["index"])
                if entry["name"] == name and index not in self._used:
                    self._used.add(index)
                    return index, entry
            index = self._next
            self._next += 1
            return index, None
        index = self._next
        self._next += 1
        recorded = self._by_index.get(index)
        if recorded is not None and recorded["name"] != name:
            raise Nondeterminism(
                'step %d was "%s" when recorded, the code now asks for "%s"' % (index, recorded["name"], name)
            )
        return index, recorded
