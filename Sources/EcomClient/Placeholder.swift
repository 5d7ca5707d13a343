enum _EcomClientPlaceholder {}
