"""The Model tab's scans page offers the core's site harmonisations and carries the choice into the ScansConfig."""
from __future__ import annotations

import pytest

from .conftest import shot


def test_harmonise_field_reaches_the_scans_config(qtbot):
    from biodeep_gui.core.common.errors import ConfigError
    from biodeep_gui.core.scans.config import HARMONISATIONS, ScansDataConfig
    from biodeep_gui.gui.tabs.model_forms import SCANS_ARCH
    from biodeep_gui.gui.tabs.model_tab import ModelTab

    tab = ModelTab()
    qtbot.addWidget(tab)
    tab.resize(1100, 760)
    tab.show()
    tab.set_architecture(SCANS_ARCH)
    combo = tab._param_widgets[SCANS_ARCH]["harmonise"]
    assert [combo.itemData(i) for i in range(combo.count())] == list(HARMONISATIONS)
    assert tab.params()["harmonise"] == "none"
    combo.setCurrentIndex(HARMONISATIONS.index("site-centre"))
    data = ScansDataConfig(images="imgs", labels="t.csv", site_column="SITE")
    cfg = tab.scans_config(data, name="r")
    assert cfg.cv.harmonise == "site-centre"
    shot(tab, "model_tab_scans_harmonise")
    with pytest.raises(ConfigError, match="site_column"):  # harmonisation is by site: no site column, no run
        tab.scans_config(ScansDataConfig(images="imgs", labels="t.csv"), name="r")
    combo.setCurrentIndex(0)
    tab.set_scans_config(cfg)  # an opened run's choice is shown again
    assert tab.params()["harmonise"] == "site-centre"
