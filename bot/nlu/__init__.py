"""Free Chinese text → intent and slots (INTERFACES.md, "NLU output"); word segmentation.

jieba with a domain dictionary; no DB, no platform, nothing else of the project. Two layers:

- Rules, kept as data in data/rules/ and read by rules.py: intents.json (phrase weights per
  intent), categories.json (word weights per problem category), stopwords.txt (filler for
  keywords), traditional.txt (traditional → simplified), userdict.txt (domain words for
  jieba). The normalised text is scanned left to right and at each place the longest known
  phrase wins (签到记录 is my_record, not checkin); each intent adds the weights of its
  phrases, plus signals from the text itself (a 6-digit code, a ticket number, a problem
  category).
- Two learned models (model.py; data/models/intent_model.json, category_model.json) that
  read what features.py makes of a message: its characters and words together with those
  rule scores. training.py trains them on the labelled messages of data/examples/. They
  decide the intent and the problem category: on held-out wording (data/heldout/) the rules
  alone reached 85-93% intent, the models 98.7% (README, "NLU"). The other slots (codes,
  ticket numbers, resource list and search words) come from the rules.

parsing.py answers at run time (parse, category, keywords, segment; re-exported here) and
labels.py names the intents and categories; evaluation.py measures parse() on labelled
messages. `import bot.nlu` loads neither training.py nor evaluation.py.

Data, in data/: rules/ (the rule files above), models/ (the two models, written by
`python -m bot nlu --train`), examples/ (what the models learn from: training only),
heldout/ (blind2-5.jsonl, each written by someone who saw neither the rules nor the
examples: never trained or tuned on; tests/unit/test_nlu.py measures them).

Start-up: cache.py keeps what is derived from shipped files in data/cache/, keyed by their
hash: jieba's dictionary packed by prefix.py (~10 MB instead of a ~62 MB dict) and the models'
weights as arrays. The first start builds them (a few seconds); later starts read them.

When the intent model is unsure, `alternatives` lists the candidates so the bot asks instead of
guessing. After changing the examples or the rule files run `python -m bot nlu --train`.

One slot beyond INTERFACES.md: `bind.code`, an 8-digit invite code found in the text.
"""

from bot.nlu.labels import CATEGORIES, INTENTS, KINDS, LABELS
from bot.nlu.parsing import (
    SHORTEST_REPORT,
    Parse,
    category,
    keywords,
    parse,
    segment,
    slots_for,
    ticket_number,
    warm_up,
)
from bot.nlu.rules import category_words, normalize

__all__ = [
    "CATEGORIES",
    "INTENTS",
    "KINDS",
    "LABELS",
    "SHORTEST_REPORT",
    "Parse",
    "category",
    "category_words",
    "keywords",
    "normalize",
    "parse",
    "segment",
    "slots_for",
    "ticket_number",
    "warm_up",
]
