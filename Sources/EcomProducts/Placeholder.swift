enum _EcomProductsPlaceholder {}
