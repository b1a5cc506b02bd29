"""The evidence hub: many evaluation packs indexed in one place, pooled where they can be.

::

    from preveval.hub import build_hub, add_to_hub, query_hub, studies
    build_hub(["packs/council-a", "packs/council-b"], "hub")    # hub/index.html, hub/hub.sqlite
    add_to_hub("hub", ["packs/council-c"])                      # the same as building with all three
    query_hub("hub", "road-safety-day")                         # the JSON of `preveval hub query`
    studies("hub", "road-safety-day")                           # the pooled packs, for a meta-regression

Modules: ``records`` (reading a pack; the standard error pooled), ``synthesis`` (which packs
match, the pooled estimate), ``document`` (the query JSON), ``database`` (hub.sqlite),
``page`` (index.html), ``build`` (build, add, query; the atomic hub folder). See docs/hub.md.
"""

from preveval.hub.build import HubSummary, add_to_hub, build_hub, query_hub, read_hub, studies

__all__ = ["HubSummary", "add_to_hub", "build_hub", "query_hub", "read_hub", "studies"]
