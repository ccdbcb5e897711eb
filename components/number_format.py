"""Tables in the one number format (`bertlens.numbers`): `st.dataframe` shows a pandas Styler's display text while
it keeps, sorts and copies the numbers themselves, so a column of probabilities reads 0.523, 0.0481, 6.70e-5 and
still sorts by value."""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from pandas.io.formats.style import Styler

from bertlens.numbers import percent as percent_text
from bertlens.numbers import significant


def table(frame: pd.DataFrame, numbers: Iterable[str] = (), signed: Iterable[str] = (),
          percents: Iterable[str] = ()) -> Styler:
    """`frame` with its `numbers` columns written by `significant` (probabilities, log-probabilities,
    divergences), `signed` ones with a "+" on positive values (log-ratios, differences) and `percents` (shares
    already in percent) with "%". Other columns are left as they are."""
    formats = {}
    formats.update({column: significant for column in numbers if column in frame})
    formats.update({column: (lambda v: significant(v, sign=True)) for column in signed if column in frame})
    formats.update({column: percent_text for column in percents if column in frame})
    return frame.style.format(formats, na_rep="n/a")
