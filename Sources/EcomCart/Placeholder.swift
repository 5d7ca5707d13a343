enum _EcomCartPlaceholder {}
