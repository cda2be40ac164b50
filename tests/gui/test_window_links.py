"""Links between the window's tabs that no single tab test sees."""


def test_the_variants_tab_follows_the_model_tabs_device_and_opens_filters(window, qtbot):
    window.build_tabs()
    qtbot.waitUntil(lambda: window.model_tab.devices() is not None, timeout=120_000)
    assert window.variants_tab._device == "cpu"
    window.model_tab.sigDeviceChanged.emit("cuda:1")  # what the Model tab says when a device is picked
    assert window.variants_tab._device == "cuda:1"
    window.model_tab.sigDeviceChanged.emit("cpu")
    assert window.variants_tab._device == "cpu"
    window.show_tab(window.variants_tab)
    window.variants_tab.sigFilterClicked.emit(2)  # a filter the selected variant changes, clicked
    assert window.current_tab() is window.filters_tab
