"""weir: a compiled event-filter and trigger rule engine.

    engine = weir.Engine()
    engine.add(rule_file_text)          # YAML or JSON rules; all or none
    engine.match('{"Type": "job.faulted"}')   # ids of the matching rules

See docs/embedding.md in weir's repository.
"""
from ._weir import Engine, RuleError, __version__

__all__ = ["Engine", "RuleError", "__version__"]
