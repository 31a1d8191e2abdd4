"""Drop-in modules for ``keras.datasets``: ``from imagesets.datasets import mnist``.

Each module has ``load_data()`` with keras's signature and return value (plus ``sample=`` and
``root=``): ``(x_train, y_train), (x_test, y_test)``.
"""
