enum _EcomOrdersPlaceholder {}
