"""zh-CN and en message catalogs (Babel .po, one gettext domain per package) and the language layer."""
