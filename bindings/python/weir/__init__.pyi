from typing import Iterable, List, TypedDict, Union

__version__: str

class Problem(TypedDict):
    line: int
    column: int
    rule: str
    message: str

class RuleError(ValueError):
    """Rules with mistakes. str() lists each as 'NAME:LINE:COLUMN: rule ID: message'."""
    problems: List[Problem]

Event = Union[str, bytes]

class Engine:
    """A set of rules, changed at run time and matched from many threads.

    add() and remove() publish a new compiled snapshot; match() and
    match_many() release the GIL and match on the snapshot current when
    they start.
    """
    def __init__(self) -> None: ...
    def add(self, text: str, replace: bool = False, name: str = "<rules>") -> None:
        """Adds the rules of a rule file's text (YAML or JSON): all, or none on a
        mistake (RuleError). An existing id is an error unless replace=True."""
    def remove(self, rule_id: str) -> None:
        """Removes a rule; KeyError if there is none with this id."""
    def match(self, event: Event) -> List[str]:
        """Ids of the rules that match one JSON object, in rule order; ValueError
        for a malformed event."""
    def match_many(self, events: Iterable[Event]) -> List[List[str]]:
        """match() for each event, releasing the GIL once for the batch;
        ValueError names the index of the first malformed event."""
    def rule_ids(self) -> List[str]:
        """The ids of the rules, in rule order."""
    def __len__(self) -> int: ...
